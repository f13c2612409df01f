"""The two time axes of the views (issue 12, item 4), through the real schema and the real command line on the seed
scenario: `on` (a business date) and `asKnownAt` (what the log held: an instant or a position), independently;
an empty state with a notice before anything of the plan was recorded; refusals with a code and a field."""

from __future__ import annotations

import json
import sys

import pytest

from progres.services.cli import app as cli_app
from progres.services.cli_support import run
from progres.services.demo import run_seed_scenario
from progres.services.settings import Settings
from progres.services.time_axes import member_view_at, moment, plan_balance_at
from tests.integration.test_graphql_api import Api
from tests.typed_views import MEMBER_VIEW_FIELDS, PLAN_BALANCE_FIELDS, balance_shape, plain, same

# The whole typed view and balance, read back in the documents' shape (tests/typed_views.py) to assert on.
MEMBER_VIEW = """query($plan: ID!, $member: ID!, $on: String, $at: String, $asOf: String) {
  memberView(planId: $plan, memberId: $member, on: $on, asKnownAt: $at, asOf: $asOf) { """ + MEMBER_VIEW_FIELDS + """
} }"""
BALANCE = """query($plan: ID!, $on: String, $at: String, $position: Int) {
  planBalance(planId: $plan, on: $on, asKnownAt: $at, position: $position) { """ + PLAN_BALANCE_FIELDS + """ } }"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    api = Api(Settings(store="sqlite", data_dir=tmp_path_factory.mktemp("time-axes") / "data"))
    scenario = run_seed_scenario(api.app)
    api.models.fresh(None)
    return api, scenario


def ok(result):
    assert result.errors is None, result.errors
    return result.data


def position_of(api, kind: str, **data) -> int:
    return next(f.position for f in api.app.facts() if f.kind == kind
                and all(f.data.get(k) == v for k, v in data.items()))


def indicator(view: dict, key: str) -> dict:
    return next(i for i in view["indicators"] if i["key"] == key)


def view(result) -> dict:
    return plain(ok(result)["memberView"])


def balance(result) -> dict:
    return balance_shape(ok(result)["planBalance"])


def test_membership_targets_and_periods_on_a_business_date(seeded):
    api, s = seeded
    variables = {"plan": s.plan, "member": s.late_lycee}
    before = view(api.run(MEMBER_VIEW, {**variables, "on": "2023-06-30"}))
    after = view(api.run(MEMBER_VIEW, {**variables, "on": "2023-07-01"}))  # the day it left
    assert (before["active"], after["active"]) == (True, False)
    assert before["as_of_day"] == "2023-06-30"
    old_view = view(api.run(MEMBER_VIEW, {**variables, "on": "2022-12-31"}))
    for on, read in (("2023-06-30", before), ("2023-07-01", after), ("2022-12-31", old_view)):
        same(read, member_view_at(api.models, s.plan, s.late_lycee, moment(on)), f"memberView on {on}")
    old_target = indicator(old_view, "egalim_share")
    new_target = indicator(before, "egalim_share")
    assert (old_target["target_in_force"], new_target["target_in_force"]) == ("35", "50")
    assert all(o["period_end"] <= "2022-12-31" for o in old_target["observations"])
    assert len(old_target["observations"]) < len(new_target["observations"])
    now = view(api.run(MEMBER_VIEW, variables))
    same(now, api.models.member_view(s.plan, s.late_lycee), "no axis: the stored view, unchanged")


def test_the_axes_are_independent_an_avenant_on_a_date_as_known_before_its_notification(seeded):
    api, s = seeded
    notified = position_of(api, "Marche.AvenantNotified", number=1)
    on = "2023-03-01"  # after avenant 1's notification day (2023-02-06), before avenant 2's
    known_now = balance(api.run(BALANCE, {"plan": s.plan, "on": on}))
    known_before = balance(api.run(BALANCE, {"plan": s.plan, "on": on, "at": str(notified - 1)}))
    same(known_now, plan_balance_at(api.models, s.plan, moment(on)), "planBalance on a date")
    same(known_before, plan_balance_at(api.models, s.plan, moment(on, str(notified - 1))), "planBalance as known")
    statuses = {a["number"]: a["status"] for a in known_now["avenants"]}
    assert statuses[1] == "notified"
    assert statuses.get(2) != "notified"
    assert {a["number"]: a["status"] for a in known_before["avenants"]}[1] != "notified"
    assert known_before["position"] == notified - 1
    assert known_now["marche"]["current_amount"] != known_before["marche"]["current_amount"]
    # the same moment asked by its former name (asOf: an instant) and by asKnownAt agree
    instant = next(f.timestamp for f in api.app.facts() if f.position == notified)
    by_known = ok(api.run(MEMBER_VIEW, {"plan": s.plan, "member": s.lycees[0], "on": on, "at": instant}))
    by_as_of = ok(api.run(MEMBER_VIEW, {"plan": s.plan, "member": s.lycees[0], "on": on, "asOf": instant}))
    assert by_known == by_as_of


def test_before_anything_was_recorded_an_empty_state_and_a_notice(seeded):
    api, s = seeded
    result = api.run(MEMBER_VIEW, {"plan": s.plan, "member": s.lycees[0], "at": "2001-01-01"})
    empty = view(result)
    assert (empty["position"], empty["active"], empty["indicators"]) == (0, False, [])
    (notice,) = result.extensions["notices"]
    assert (notice["code"], notice["field"]) == ("nothing_recorded_yet", "asKnownAt")
    assert notice["message"].startswith("rien n'était encore enregistré au 2001-01-01")
    document = member_view_at(api.models, s.plan, s.lycees[0], moment(None, "2001-01-01"))
    assert document["notice"] == notice, "the notice is the one of the read model's empty view"
    same(empty, {k: v for k, v in document.items() if k != "notice"}, "empty memberView")
    for variables in ({"at": "2001-01-01"}, {"position": 1}):  # nothing recorded yet; the plan not recorded yet
        answer = api.run(BALANCE, {"plan": s.plan, **variables})
        empty_balance = balance(answer)
        expected = plan_balance_at(api.models, s.plan, moment(None, variables.get("at"), position=variables.get(
            "position")))
        assert answer.extensions["notices"] == [expected.pop("notice")]
        assert (empty_balance["title"], empty_balance["marche"]["initial_amount"]) == (None, None)
        same(empty_balance, expected, f"empty planBalance {variables}")


def test_a_business_date_before_the_plans_start_has_no_member_and_no_period(seeded):
    api, s = seeded
    result = api.run(BALANCE, {"plan": s.plan, "on": "2021-12-31"})
    early = balance(result)
    assert early["members"] == {}
    assert all(not i.get("periods") for a in early["axes"] for o in a["objectives"] for i in o["indicators"])
    (notice,) = result.extensions["notices"]
    assert (notice["code"], notice["field"]) == ("before_plan_start", "on")
    assert "le 31 décembre 2021, le plan n'avait pas commencé" in notice["message"]
    member = view(api.run(MEMBER_VIEW, {"plan": s.plan, "member": s.lycees[0], "on": "2021-12-31"}))
    assert member["active"] is False
    assert all(i["observations"] == [] for i in member["indicators"])


def test_the_plan_tree_on_a_date_and_as_known_at_a_position(seeded):
    api, s = seeded
    query = """query($id: ID!, $on: String, $at: String) { plan(id: $id, on: $on, asKnownAt: $at) {
      title axes { objectives { indicators { key measures(first: 500) { totalCount } } } } } }"""

    def measures(data: dict) -> int:
        return sum(i["measures"]["totalCount"] for a in data["plan"]["axes"] for o in a["objectives"]
                   for i in o["indicators"])

    assert 0 < measures(ok(api.run(query, {"id": s.plan, "on": "2022-06-30"}))) < measures(
        ok(api.run(query, {"id": s.plan})))
    early = api.run(query, {"id": s.plan, "at": "2"})
    assert ok(early)["plan"] == {"title": "", "axes": []}
    assert early.extensions["notices"][0]["code"] == "plan_not_recorded_yet"


@pytest.mark.parametrize(("variables", "field", "words"), [
    ({"on": "2023-02-30"}, "on", "« 2023-02-30 » n'est pas une date au format aaaa-mm-jj"),
    ({"on": "demain"}, "on", "n'est pas une date au format aaaa-mm-jj"),
    ({"at": "hier soir"}, "asKnownAt", "n'est ni une date ou un instant ISO 8601"),
    ({"at": "0"}, "asKnownAt", "ni une position du journal"),
    ({"at": "3", "position": 3}, "asKnownAt", "choisissez un seul de asKnownAt, asOf et position"),
])
def test_a_bad_moment_is_refused_with_its_code_and_field_in_french(seeded, variables, field, words):
    api, s = seeded
    head = api.app.max_notification_id()
    result = api.run(BALANCE, {"plan": s.plan, **variables})
    (error,) = result.errors
    assert error.extensions == {"code": "invalid_input", "field": field}
    assert words in error.message
    assert api.app.max_notification_id() == head


@pytest.mark.parametrize(("variables", "field"), [({"at": "999999999"}, "asKnownAt"), ({"position": 999999999},
                                                                                   "position")])
def test_a_position_beyond_the_log_is_refused_not_answered_as_today(seeded, variables, field):
    """A position the log has not reached is refused at once (as a `minPosition` beyond the head): answering
    the state at the head would present today's plan as the plan known at a moment that has not come yet."""
    api, s = seeded
    head = api.app.max_notification_id()
    result = api.run(BALANCE, {"plan": s.plan, **variables})
    (error,) = result.errors
    assert error.extensions == {"code": "position_ahead_of_log", "field": field}
    assert f"au-delà de la fin du journal ({head})" in error.message
    at_head = ok(api.run(BALANCE, {"plan": s.plan, "at": str(head)}))["planBalance"]
    assert at_head["position"] == head


def test_the_command_line_reads_both_axes(seeded, capsys, monkeypatch):
    api, s = seeded

    def cli(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["progres", *args, "--data-dir", str(api.services.settings.data_dir)])
        code = run(cli_app)
        out, err = capsys.readouterr()
        return code, out, err

    notified = position_of(api, "Marche.AvenantNotified", number=1)
    code, out, _ = cli("bilan", "--plan", s.plan, "--on", "2023-03-01", "--as-known-at", str(notified), "--json")
    assert code == 0
    balance = json.loads(out)
    assert (balance["as_of_day"], balance["position"]) == ("2023-03-01", notified)
    assert {a["number"]: a["status"] for a in balance["avenants"]}[1] == "notified"
    code, out, err = cli("bilan", "--plan", s.plan, "--on", "2021-06-30", "--json")
    assert code == 0
    assert "before_plan_start: --on: le 30 juin 2021, le plan n'avait pas commencé" in " ".join(err.split())
    assert json.loads(out)["members"] == {}
    code, out, err = cli("bilan", "--plan", s.plan, "--on", "30/06/2021")
    assert (code, out) == (2, "")
    assert "invalid_input: --on: « 30/06/2021 » n'est pas une date au format aaaa-mm-jj" in " ".join(err.split())


def test_the_plan_dashboard_on_a_date_and_before_anything_was_recorded(seeded):
    from progres.services.time_axes import moment, plan_dashboard_at  # noqa: PLC0415

    api, s = seeded
    now = api.models.plan_dashboard(s.plan)
    on = plan_dashboard_at(api.models, s.plan, moment("2022-12-31"))
    assert on["as_of_day"] == "2022-12-31"
    assert "notice" not in on
    assert any(i["series"] for i in on["indicators"])
    for indicator, today in zip(on["indicators"], now["indicators"], strict=True):
        assert indicator["series"] == [p for p in today["series"] if p["period_end"] <= "2022-12-31"]
    empty = plan_dashboard_at(api.models, s.plan, moment(as_known_at="2001-01-01"))
    assert (empty["indicators"], empty["notice"]["code"]) == ([], "nothing_recorded_yet")
    assert plan_dashboard_at(api.models, s.plan, moment()) == now, "no axis: the stored dashboard"
