"""The plan's setup pages, for the groupement's coordonnateur: notify a marché, draw up its plan, then fill the plan
in (axes, objectives, indicators with their target and trajectory, actions, milestones, gain sharing, governance).

Like every page of the console, these run the same GraphQL mutations as external clients, with the session's actor:
the API decides. The pages are offered only to the groupement's coordonnateur (a GET by anyone else is answered 403),
and a POST by anyone else is refused by the API's policy (`forbidden`), nothing written. Every form is checked field
by field first (French numbers and dates); a refusal of the API is shown next to the field it names, with its code.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from progres.console.forms import FieldError, french_date, french_decimal, parse_fields, position_param, required_text
from progres.console.messages import (
    ACTION_OWNERS,
    ACTION_STATUS_CHOICES,
    ACTION_STATUSES,
    AGGREGATIONS,
    BUYER_KINDS,
    DIRECTIONS,
    INDICATOR_KINDS,
    INDICATOR_SCOPES,
    MARCHE_NATURES,
    MEMBER_SPLITS,
    MESSAGES,
    OBJECTIVE_KINDS,
    ORGANISATION_KINDS,
    PERIODICITY_CHOICES,
    SETTLEMENTS,
    WITHDRAWAL_CLAUSES,
    message,
    refusal,
)
from progres.console.operations import DIRECTORY, MEMBERS_PAGE, Outcome, Refusal, command, form_field_of
from progres.services.policy import Actor, Role

if TYPE_CHECKING:
    from progres.console.web import Console

REGISTER_ORGANISATION = command("registerOrganisation", "organisation { id }")
CONSTITUTE_GROUPEMENT = command("constituteGroupement", "groupement { id }")
ADMIT_MEMBER = command("admitMember", "groupement { id }")
NOTIFY_MARCHE = command("notifyMarche", "marche { id }")
DRAW_UP_PLAN = command("drawUpPlan", "plan { id }")
ADD_AXIS = command("addAxis", "plan { id }")
ADD_OBJECTIVE = command("addObjective", "plan { id }")
DEFINE_INDICATOR = command("defineIndicator", "plan { id }")
PLAN_ACTION = command("planAction", "plan { id }")
SCHEDULE_MILESTONE = command("scheduleMilestone", "plan { id }")
DEFINE_GAIN_SHARING = command("defineGainSharing", "plan { id }")
DEFINE_GOVERNANCE = command("defineGovernance", "plan { id }")
COMMIT_RESOURCE = command("commitResource", "plan { id }")
DECLARE_PURCHASE_VOLUME = command("declarePurchaseVolume", "plan { id }")
CHANGE_ACTION_STATUS = command("changeActionStatus", "plan { id }")
RELEASE_MEMBER = command("releaseMember", "groupement { id }")
ASSIGN_AUDITOR = command("assignAuditor", "groupement { id }")

SETUP_PLAN = """
query ConsoleSetupPlan($plan: ID!, $minPosition: Int) {
  plan(id: $plan, minPosition: $minPosition) {
    id title closed groupementId marcheId
    axes { key title objectives { key title kind indicators { key name kind unit target } } }
    actions: allActions(first: 500) { edges { node { key axisKey title owner dueOn status } } }
  }
}
"""

SETUP_GROUPEMENTS = """
query ConsoleSetupGroupements {
  groupements: allGroupements(first: 500) { edges { node {
    id nodeId code name coordonnateurId
    plans(first: 500) { edges { node { id } } }
    members: memberships(first: 500) { ...ConsoleMembersPage }
    marches: allMarches(first: 500) { edges { node { id code object titulaireIds notifiedOn } } }
  } } }
}
""" + MEMBERS_PAGE

PLAN_TITLE = "query ConsoleSetupPlanTitle($plan: ID!) { plan(id: $plan) { id title marcheId } }"

# --- French input --------------------------------------------------------------------------------------------------


def french_integer(raw: str) -> int:
    """`24` (spaces as thousands separators accepted) → 24; anything else: the French error."""
    text = re.sub(r"[\s\u00a0\u202f]", "", raw)
    if not text:
        raise FieldError(message("err_required"))
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise FieldError(message("err_integer", value=raw.strip()[:40]))
    return int(text)


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda raw: parse(raw) if raw.strip() else None


def slug(text: str) -> str:
    """A key drawn from a title: `Réduire le gaspillage` → `reduire-le-gaspillage` (at most 64 characters)."""
    spelled = text.lower().replace("œ", "oe").replace("æ", "ae")
    ascii_text = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:64].strip("-") or "element"


def key_of(raw: str, title: Any) -> str:
    """The key the coordonnateur typed, else one drawn from the title."""
    return raw.strip() or slug(title if isinstance(title, str) else "")


# --- the forms -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A field of a setup form: its name (`<form>_<field>`, the HTML id), its label, its kind, its hint."""

    name: str
    label: str
    kind: str = "text"  # text, textarea, select, checkbox
    hint: str | None = None
    required: bool = True
    choices: str | None = None  # the name of its choices, computed for each page


@dataclass(frozen=True)
class Form:
    name: str
    title: str
    button: str
    parts: tuple[tuple[str | None, tuple[Field, ...]], ...]  # (fieldset legend or None, its fields)
    needs: str | None = None  # choices that must not be empty for the form to be offered
    missing: str | None = None  # what the page says when they are


def form(name: str, title: str, button: str, *parts: tuple[str | None, tuple[Field, ...]], needs: str | None = None,
         missing: str | None = None) -> Form:
    return Form(name, title, button, parts, needs, missing)


def f(name: str, label: str, **options: Any) -> Field:
    return Field(name, message(label), **options)


MARCHE_FORM = form("marche", "marche_new_title", "marche_button", (None, (
    f("marche_code", "field_marche_code", hint=message("hint_marche_code")),
    f("marche_object", "field_marche_object", kind="textarea"),
    f("marche_cpv", "field_marche_cpv", hint=message("hint_marche_cpv")),
    f("marche_nature", "field_marche_nature", kind="select", choices="natures"),
    f("marche_titulaire", "field_marche_titulaire", kind="select", choices="suppliers"),
    f("marche_amount", "field_marche_amount", hint=message("hint_amount")),
    f("marche_months", "field_marche_months", hint=message("hint_months")),
    f("marche_notified_on", "field_marche_notified_on", hint=message("hint_date")),
    f("marche_launched_on", "field_marche_launched_on", hint=message("hint_launched_on"), required=False),
    f("marche_clause", "field_marche_clause", kind="checkbox", required=False),
)))

GROUPEMENT_FORM = form("groupement", "groupement_new_title", "groupement_button", (None, (
    f("groupement_code", "field_groupement_code", hint=message("hint_groupement_code")),
    f("groupement_name", "field_groupement_name"),
    f("groupement_purpose", "field_groupement_purpose", kind="textarea"),
    f("groupement_permanent", "field_groupement_permanent", kind="checkbox", required=False),
    f("groupement_signed_on", "field_groupement_signed_on", hint=message("hint_date")),
    f("groupement_convention", "field_groupement_convention", kind="file", hint=message("hint_document")),
    f("groupement_shares", "field_groupement_shares", kind="checkbox", required=False),
    f("groupement_clause", "field_groupement_clause", kind="select", choices="clauses"),
)))

MEMBER_FORM = form("member", "admit_title", "admit_button", (None, (
    f("member_organisation", "field_member_organisation", kind="select", choices="outsiders"),
    f("member_on", "field_member_on", hint=message("hint_date")),
    f("member_decision", "field_member_decision", kind="file", hint=message("hint_document")),
    f("member_decided_on", "field_member_decided_on", hint=message("hint_date")),
)), needs="outsiders", missing="admit_none")

ORGANISATION_FORM = form("organisation", "register_title", "register_button", (None, (
    f("organisation_siret", "field_organisation_siret", hint=message("hint_siret")),
    f("organisation_name", "field_organisation_name"),
    f("organisation_kind", "field_organisation_kind", kind="select", choices="organisation_kinds"),
)))

PLAN_FORM = form("plan", "plan_new_title", "plan_button", (None, (f("plan_title", "field_plan_title"),)))

SETUP_FORMS = (
    form("axis", "setup_axis", "setup_axis_button", (None, (
        f("axis_title", "field_axis_title"),
        f("axis_key", "field_axis_key", hint=message("hint_key"), required=False),
        f("axis_description", "field_axis_description", kind="textarea", hint=message("hint_optional"),
          required=False),
    ))),
    form("objective", "setup_objective", "setup_objective_button", (None, (
        f("objective_axis", "field_objective_axis", kind="select", choices="axes"),
        f("objective_title", "field_objective_title"),
        f("objective_key", "field_objective_key", hint=message("hint_key"), required=False),
        f("objective_kind", "field_objective_kind", kind="select", choices="objective_kinds"),
    )), needs="axes", missing="setup_objective_none"),
    form("indicator", "setup_indicator", "setup_indicator_button", (None, (
        f("indicator_objective", "field_indicator_objective", kind="select", choices="objectives"),
        f("indicator_name", "field_indicator_name"),
        f("indicator_key", "field_indicator_key", hint=message("hint_indicator_key"), required=False),
        f("indicator_kind", "field_indicator_kind", kind="select", choices="indicator_kinds"),
        f("indicator_unit", "field_indicator_unit", hint=message("hint_unit"), required=False),
        f("indicator_direction", "field_indicator_direction", kind="select", choices="directions",
          hint=message("hint_direction"), required=False),
        f("indicator_aggregation", "field_indicator_aggregation", kind="select", choices="aggregations"),
        f("indicator_periodicity", "field_indicator_periodicity", kind="select", choices="periodicities"),
        f("indicator_scope", "field_indicator_scope", kind="select", choices="scopes"),
        f("indicator_baseline", "field_indicator_baseline", hint=message("hint_decimal_optional"), required=False),
        f("indicator_target", "field_indicator_target", hint=message("hint_decimal_optional"), required=False),
    )), (message("setup_trajectory"), tuple(
        Field(f"indicator_step{n}_{part}", message(f"field_step_{part}", number=n),
              hint=message("hint_date") if part == "from" else None, required=False)
        for n in (1, 2, 3) for part in ("from", "target"))),
        needs="objectives", missing="setup_indicator_none"),
    form("action", "setup_action", "setup_action_button", (None, (
        f("action_axis", "field_action_axis", kind="select", choices="axes"),
        f("action_title", "field_action_title"),
        f("action_key", "field_action_key", hint=message("hint_key"), required=False),
        f("action_owner", "field_action_owner", kind="select", choices="owners"),
        f("action_organisation", "field_action_organisation", kind="select", choices="parties",
          hint=message("hint_action_organisation"), required=False),
        f("action_due_on", "field_action_due_on", hint=message("hint_date")),
    )), needs="axes", missing="setup_action_none"),
    form("milestone", "setup_milestone", "setup_milestone_button", (None, (
        f("milestone_title", "field_milestone_title"),
        f("milestone_key", "field_milestone_key", hint=message("hint_key"), required=False),
        f("milestone_due_on", "field_milestone_due_on", hint=message("hint_date")),
    ))),
    form("gain", "setup_gain", "setup_gain_button", (None, (
        f("gain_basis", "field_gain_basis", hint=message("hint_gain_basis")),
        f("gain_reference", "field_gain_reference", hint=message("hint_gain_reference")),
        f("gain_period", "field_gain_period", hint=message("hint_months")),
    )), (message("setup_gain_shares"), (
        f("gain_titulaire", "field_gain_titulaire", required=False),
        f("gain_acheteur", "field_gain_acheteur", required=False),
        f("gain_joint", "field_gain_joint", required=False),
    )), (None, (
        f("gain_member_split", "field_gain_member_split", kind="select", choices="member_splits"),
        f("gain_settlement", "field_gain_settlement", kind="select", choices="settlements"),
    ))),
    form("governance", "setup_governance", "setup_governance_button", (None, (
        f("governance_body", "field_governance_body", hint=message("hint_governance_body")),
        f("governance_participants", "field_governance_participants", kind="textarea",
          hint=message("hint_governance_participants")),
        f("governance_frequency", "field_governance_frequency", hint=message("hint_months")),
    ))),
    form("resource", "setup_resource", "setup_resource_button", (None, (
        f("resource_party", "field_resource_party", kind="select", choices="owners"),
        f("resource_description", "field_resource_description", kind="textarea"),
        f("resource_amount", "field_resource_amount", hint=message("hint_amount_optional"), required=False),
    ))),
    form("volume", "setup_volume", "setup_volume_button", (None, (
        f("volume_member", "field_volume_member", kind="select", choices="members"),
        f("volume_amount", "field_volume_amount", hint=message("hint_amount")),
    )), needs="members", missing="setup_volume_none"),
    form("status", "setup_status", "setup_status_button", (None, (
        f("status_action", "field_status_action", kind="select", choices="actions"),
        f("status_status", "field_status_status", kind="select", choices="action_statuses"),
        f("status_on", "field_status_on", hint=message("hint_date")),
        f("status_note", "field_status_note", kind="textarea", hint=message("hint_optional"), required=False),
    )), needs="actions", missing="setup_status_none"),
)

RELEASE_FORM = form("release", "release_title", "release_button", (None, (
    f("release_organisation", "field_release_organisation", kind="select", choices="active"),
    f("release_on", "field_release_on", hint=message("hint_release_on")),
)), needs="active", missing="release_none")

AUDITOR_FORM = form("auditor", "auditor_title", "auditor_button", (None, (
    f("auditor_organisation", "field_auditor_organisation", kind="select", choices="audit_bodies"),
)), needs="audit_bodies", missing="auditor_none")

# Choices that do not depend on the plan.
FIXED_CHOICES: dict[str, dict[str, str]] = {
    "natures": MARCHE_NATURES, "objective_kinds": OBJECTIVE_KINDS, "indicator_kinds": INDICATOR_KINDS,
    "directions": DIRECTIONS, "aggregations": AGGREGATIONS, "periodicities": PERIODICITY_CHOICES,
    "scopes": INDICATOR_SCOPES, "owners": ACTION_OWNERS, "member_splits": MEMBER_SPLITS, "settlements": SETTLEMENTS,
    "clauses": WITHDRAWAL_CLAUSES, "organisation_kinds": ORGANISATION_KINDS,
    "action_statuses": ACTION_STATUS_CHOICES,
}

Parsed = tuple[dict[str, str], dict[str, Any]]


def choice(form_values: dict[str, str], name: str, allowed: dict[str, str] | set[str], errors: dict[str, str],
           required: bool = True) -> str | None:
    value = form_values.get(name, "")
    if not value and not required:
        return None
    if value not in allowed:
        errors[name] = message("err_choice")
        return None
    return value


def parsed(form_values: dict[str, str], parsers: dict[str, tuple[str, Callable[[str], Any]]],
           errors: dict[str, str]) -> dict[str, Any]:
    """Each field parsed by `parse_fields` (dates to ISO); the French error of each field at fault added to `errors`."""
    found, variables = parse_fields(form_values, parsers)
    errors.update(found)
    return variables


def text(limit: int = 255) -> Callable[[str], str]:
    return lambda raw: required_text(raw, limit)


def optional_text(limit: int) -> Callable[[str], str]:
    return lambda raw: required_text(raw, limit) if raw.strip() else ""


def parse_axis(values: dict[str, str], _: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = parsed(values, {"axis_title": ("title", text()), "axis_description": ("description",
                                                                                    optional_text(2000))}, errors)
    variables["key"] = key_of(values.get("axis_key", ""), variables.get("title"))
    return errors, variables


def parse_objective(values: dict[str, str], choices: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    axis = choice(values, "objective_axis", choices["axes"], errors)
    kind = choice(values, "objective_kind", OBJECTIVE_KINDS, errors)
    variables = parsed(values, {"objective_title": ("title", text())}, errors)
    variables.update(axisKey=axis, kind=kind, key=key_of(values.get("objective_key", ""), variables.get("title")))
    return errors, variables


def parse_indicator(values: dict[str, str], choices: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    indicator: dict[str, Any] = {
        "objectiveKey": choice(values, "indicator_objective", choices["objectives"], errors),
        "kind": choice(values, "indicator_kind", INDICATOR_KINDS, errors),
        "aggregation": choice(values, "indicator_aggregation", AGGREGATIONS, errors),
        "periodicity": choice(values, "indicator_periodicity", PERIODICITY_CHOICES, errors),
        "scope": choice(values, "indicator_scope", INDICATOR_SCOPES, errors),
        "direction": choice(values, "indicator_direction", DIRECTIONS, errors, required=False),
    }
    indicator.update(parsed(values, {
        "indicator_name": ("name", text()), "indicator_unit": ("unit", optional(text(32))),
        "indicator_baseline": ("baseline", optional(french_decimal)),
        "indicator_target": ("target", optional(french_decimal)),
    }, errors))
    indicator["key"] = key_of(values.get("indicator_key", ""), indicator.get("name"))
    trajectory = []
    for number in (1, 2, 3):
        names = (f"indicator_step{number}_from", f"indicator_step{number}_target")
        if not any(values.get(name, "").strip() for name in names):
            continue
        step = parsed(values, {names[0]: ("from", french_date), names[1]: ("target", french_decimal)}, errors)
        if len(step) == 2:
            trajectory.append((number, step))
    # The API names a step by its index in the list sent: kept with the form's row it came from.
    indicator["trajectory"] = [step for _, step in trajectory] or None
    rows = [number for number, _ in trajectory]
    return errors, {"indicator": {k: v for k, v in indicator.items() if v is not None}, "_rows": rows}


def parse_action(values: dict[str, str], choices: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = {"axisKey": choice(values, "action_axis", choices["axes"], errors),
                 "owner": choice(values, "action_owner", ACTION_OWNERS, errors),
                 "ownerOrganisationId": choice(values, "action_organisation", choices["parties"], errors,
                                               required=False)}
    variables.update(parsed(values, {"action_title": ("title", text()), "action_due_on": ("dueOn", french_date)},
                            errors))
    variables["key"] = key_of(values.get("action_key", ""), variables.get("title"))
    return errors, variables


def parse_milestone(values: dict[str, str], _: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = parsed(values, {"milestone_title": ("title", text()), "milestone_due_on": ("dueOn", french_date)},
                       errors)
    variables["key"] = key_of(values.get("milestone_key", ""), variables.get("title"))
    return errors, variables


def parse_gain(values: dict[str, str], _: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = {"memberSplit": choice(values, "gain_member_split", MEMBER_SPLITS, errors),
                 "settlement": choice(values, "gain_settlement", SETTLEMENTS, errors)}
    variables.update(parsed(values, {"gain_basis": ("basis", text(2000)), "gain_reference": ("reference", text(2000)),
                                     "gain_period": ("periodMonths", french_integer)}, errors))
    shares = parsed(values, {f"gain_{party}": (party, optional(french_decimal))
                             for party in ("titulaire", "acheteur", "joint")}, errors)
    variables["partyShares"] = {party: share for party, share in shares.items() if share is not None}
    return errors, variables


def parse_governance(values: dict[str, str], _: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = parsed(values, {"governance_body": ("body", text()),
                                "governance_frequency": ("reviewFrequencyMonths", french_integer)}, errors)
    participants = [line.strip()[:255] for line in values.get("governance_participants", "").splitlines()
                    if line.strip()]
    if not participants:
        errors["governance_participants"] = message("err_required")
    variables["participants"] = participants[:50]
    return errors, variables


def parse_resource(values: dict[str, str], _: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = {"party": choice(values, "resource_party", ACTION_OWNERS, errors)}
    variables.update(parsed(values, {"resource_description": ("description", text(2000)),
                                     "resource_amount": ("amount", optional(french_decimal))}, errors))
    return errors, variables


def parse_volume(values: dict[str, str], choices: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = {"memberId": choice(values, "volume_member", choices["members"], errors)}
    variables.update(parsed(values, {"volume_amount": ("amount", french_decimal)}, errors))
    return errors, variables


def parse_status(values: dict[str, str], choices: dict[str, dict[str, str]]) -> Parsed:
    errors: dict[str, str] = {}
    variables = {"key": choice(values, "status_action", choices["actions"], errors),
                 "status": choice(values, "status_status", ACTION_STATUS_CHOICES, errors)}
    variables.update(parsed(values, {"status_on": ("on", french_date), "status_note": ("note", optional_text(2000))},
                            errors))
    return errors, variables


# form → (its parser, its mutation, the mutation's field in the answer, the API's argument → the form's field)
SETUP_STEPS: dict[str, tuple[Callable[[dict[str, str], dict[str, dict[str, str]]], Parsed], str, str,
                             dict[str, str]]] = {
    "axis": (parse_axis, ADD_AXIS, "addAxis", {"key": "axis_key", "title": "axis_title",
                                               "description": "axis_description"}),
    "objective": (parse_objective, ADD_OBJECTIVE, "addObjective", {
        "key": "objective_key", "axisKey": "objective_axis", "title": "objective_title",
        "kind": "objective_kind"}),
    "indicator": (parse_indicator, DEFINE_INDICATOR, "defineIndicator", {
        "key": "indicator_key", "objectiveKey": "indicator_objective",
        "name": "indicator_name", "kind": "indicator_kind", "unit": "indicator_unit",
        "direction": "indicator_direction", "aggregation": "indicator_aggregation",
        "periodicity": "indicator_periodicity", "scope": "indicator_scope", "baseline": "indicator_baseline",
        "target": "indicator_target", "trajectory": "indicator_step1_from"}),
    "action": (parse_action, PLAN_ACTION, "planAction", {
        "key": "action_key", "axisKey": "action_axis", "title": "action_title",
        "owner": "action_owner", "dueOn": "action_due_on",
        "ownerOrganisationId": "action_organisation"}),
    "milestone": (parse_milestone, SCHEDULE_MILESTONE, "scheduleMilestone", {
        "key": "milestone_key", "title": "milestone_title", "dueOn": "milestone_due_on",
        "due_on": "milestone_due_on"}),
    "gain": (parse_gain, DEFINE_GAIN_SHARING, "defineGainSharing", {
        "basis": "gain_basis", "reference": "gain_reference", "periodMonths": "gain_period",
        "period_months": "gain_period", "partyShares": "gain_titulaire",
        "titulaire": "gain_titulaire", "acheteur": "gain_acheteur", "joint": "gain_joint",
        "memberSplit": "gain_member_split", "settlement": "gain_settlement"}),
    "resource": (parse_resource, COMMIT_RESOURCE, "commitResource", {
        "party": "resource_party", "description": "resource_description", "amount": "resource_amount"}),
    "volume": (parse_volume, DECLARE_PURCHASE_VOLUME, "declarePurchaseVolume", {
        "memberId": "volume_member", "amount": "volume_amount"}),
    "status": (parse_status, CHANGE_ACTION_STATUS, "changeActionStatus", {
        "key": "status_action", "status": "status_status", "on": "status_on", "note": "status_note"}),
    "governance": (parse_governance, DEFINE_GOVERNANCE, "defineGovernance", {
        "body": "governance_body", "participants": "governance_participants",
        "reviewFrequencyMonths": "governance_frequency"}),
}


def form_field(form_name: str, path: list[str], mapping: dict[str, str], rows: list[int]) -> str:
    """The form's field a refusal of the API names by its GraphQL path without `input` (`indicator.trajectory.1.target`
    → the second step filled in); the form itself when it names none of its fields."""
    if form_name == "indicator" and "trajectory" in path:
        after = path[path.index("trajectory") + 1:]
        index = int(after[0]) if after and after[0].isdigit() else 0
        row = rows[index] if index < len(rows) else 1
        return f"indicator_step{row}_{'target' if after[-1:] == ['target'] else 'from'}"
    return form_field_of(path, mapping, f"{form_name}_form")


# --- the pages -----------------------------------------------------------------------------------------------------


class SetupPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.run = console.executor.run
        self.read = console.executor.read
        self.read_all = console.executor.read_all
        self.groupements = console.executor.groupements

    async def names(self, actor: Actor) -> tuple[dict[str, str], dict[str, str]]:
        """Organisation id → name, and the suppliers (id → name) of the directory this actor reads."""
        directory = (await self.read_all(DIRECTORY, actor, "organisations"))["organisations"]["edges"]
        names = {edge["node"]["id"]: edge["node"]["name"] for edge in directory}
        suppliers = {edge["node"]["id"]: edge["node"]["name"] for edge in directory
                     if edge["node"]["kind"] == "supplier"}
        return names, suppliers

    async def coordinated(self, actor: Actor, groupement_id: str,
                          until: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """The groupement, if this actor is its coordonnateur; else `forbidden` (a party that is not its coordonnateur)
        or `not_found` (a groupement it does not see). `until`: after a write, what the page waits to see (the
        `groupements` query takes no `minPosition`): read again until the read models show it (5 s at most)."""
        for attempt in range(50):
            groupements = await self.groupements(SETUP_GROUPEMENTS, actor)
            found = next((g for g in groupements if g["id"] == groupement_id), None)
            if until is None or attempt == 49 or (found is not None and until(found)):
                break
            await asyncio.sleep(0.1)
        if found is None:
            raise Refusal("not_found", "groupement")
        if actor.role is not Role.COORDONNATEUR or found["coordonnateurId"] != actor.organisation_id:
            raise Refusal("forbidden", "coordonnateur")
        return found

    async def groupement_of_marche(self, actor: Actor, marche_id: str, wait: bool = False) -> dict[str, Any]:
        """The groupement of the marché, coordinated by this actor. `wait`: the marché was just notified and the
        `groupements` query takes no `minPosition`: it is read again until the read models show it (5 s at most)."""
        for attempt in range(50):
            groupements = await self.groupements(SETUP_GROUPEMENTS, actor)
            found = next((g for g in groupements for m in g["marches"] if m["id"] == marche_id), None)
            if found is not None or not wait or attempt == 49:
                break
            await asyncio.sleep(0.1)
        if found is None:
            raise Refusal("not_found", "marche")
        return await self.coordinated(actor, found["id"])

    def page(self, request: Request, template: str, status: int, **values: Any) -> Response:
        return self.console.render(request, template, status, fixed=FIXED_CHOICES, **values)

    @staticmethod
    def answer_errors(form_name: str, outcome: Outcome, mapping: dict[str, str],
                      rows: list[int] | None = None) -> dict[str, str]:
        said = refusal(outcome.code, outcome.text)
        if outcome.code not in said:  # the refusal's stable code, always shown with it
            said = f"{said} ({outcome.code})"
        return {form_field(form_name, outcome.path, mapping, rows or []): said}

    # --- constitute a groupement, register organisations, admit members ------------------------------------------

    async def groupement_form(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                              errors: dict[str, str] | None = None) -> Response:
        if actor.role is not Role.COORDONNATEUR:  # the API lets a coordonnateur constitute for itself only
            raise Refusal("forbidden", "coordonnateur")
        return self.page(request, "setup/groupement.html", 422 if errors else 200,
                         title=message("groupement_new_title"), form=GROUPEMENT_FORM, choices={},
                         values=values or {"groupement_permanent": "1"}, errors=errors or {})

    async def constitute_groupement(self, request: Request, actor: Actor) -> Response:
        checked = await self.console.checked_upload(request, "groupement_convention")
        if checked is None:
            return self.console.csrf_refused(request)
        values, convention, upload_error = checked
        errors: dict[str, str] = {}
        clause = choice(values, "groupement_clause", WITHDRAWAL_CLAUSES, errors)
        variables = parsed(values, {"groupement_code": ("code", text(64)), "groupement_name": ("name", text()),
                                    "groupement_purpose": ("purpose", text(2000)),
                                    "groupement_signed_on": ("signedOn", french_date)}, errors)
        if upload_error:
            errors["groupement_convention"] = upload_error
        if not errors:
            outcome = await self.console.executor.command(
                CONSTITUTE_GROUPEMENT, actor, coordonnateurId=actor.organisation_id,
                permanent=values.get("groupement_permanent") == "1",
                sharesMemberDetails=values.get("groupement_shares") == "1", withdrawalClause=clause,
                convention=convention, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/groupements/{outcome.payload['groupement']['id']}/membres"
                                        f"?fait={outcome.position}&quoi=groupement", 303)
            errors = self.answer_errors("groupement", outcome, {
                "code": "groupement_code", "name": "groupement_name", "purpose": "groupement_purpose",
                "signedOn": "groupement_signed_on", "convention": "groupement_convention",
                "withdrawalClause": "groupement_clause", "coordonnateurId": "groupement_form"})
        return await self.groupement_form(request, actor, shown(values), errors)

    async def members(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None) -> Response:

        wanted = position_param(request, "fait")
        done = request.query_params.get("quoi", "")
        member = request.query_params.get("membre")
        organisation = request.query_params.get("organisation")
        groupement = await self.coordinated(
            actor, request.path_params["groupement"],
            (lambda g: any(m["organisationId"] == member for m in g["members"])) if wanted and member else
            (lambda g: True) if wanted else None)
        for _ in range(50 if wanted and organisation else 0):
            directory = await self.read_all(DIRECTORY, actor, "organisations")
            if any(edge["node"]["id"] == organisation for edge in directory["organisations"]["edges"]):
                break
            await asyncio.sleep(0.1)
        directory = (await self.read_all(DIRECTORY, actor, "organisations"))["organisations"]["edges"]
        names = {edge["node"]["id"]: edge["node"]["name"] for edge in directory}
        active = {m["organisationId"] for m in groupement["members"] if m["leftOn"] is None}
        active.add(groupement["coordonnateurId"])
        outsiders = dict(sorted(((edge["node"]["id"], edge["node"]["name"]) for edge in directory
                                 if edge["node"]["kind"] in BUYER_KINDS and edge["node"]["id"] not in active),
                                key=lambda pair: pair[1]))
        key = f"setup_{done}_ok"
        notice = message("setup_done_ok", what=message(key), position=wanted) if wanted and key in MESSAGES else None
        members = dict(sorted(((m["organisationId"], names.get(m["organisationId"], m["organisationId"]))
                               for m in groupement["members"] if m["leftOn"] is None
                               and m["organisationId"] != groupement["coordonnateurId"]), key=lambda pair: pair[1]))
        audit_bodies = dict(sorted(((edge["node"]["id"], edge["node"]["name"]) for edge in directory
                                    if edge["node"]["kind"] == "audit_body"), key=lambda pair: pair[1]))
        return self.page(request, "setup/members.html", 422 if errors else 200,
                         title=message("members_title", name=groupement["name"]), groupement=groupement, names=names,
                         forms=(MEMBER_FORM, ORGANISATION_FORM, RELEASE_FORM, AUDITOR_FORM),
                         choices={"outsiders": outsiders, "active": members, "audit_bodies": audit_bodies},
                         values=values or {}, errors=errors or {}, notice=None if errors else notice)

    async def admit_member(self, request: Request, actor: Actor) -> Response:
        checked = await self.console.checked_upload(request, "member_decision")
        if checked is None:
            return self.console.csrf_refused(request)
        values, decision, upload_error = checked
        errors: dict[str, str] = {}
        variables = parsed(values, {"member_on": ("on", french_date),
                                    "member_decided_on": ("decidedOn", lambda raw: french_date(raw, required=False))},
                           errors)
        organisation = values.get("member_organisation", "").strip()
        if not organisation:
            errors["member_organisation"] = message("err_choice")
        if upload_error:
            errors["member_decision"] = upload_error
        groupement_id = request.path_params["groupement"]
        if not errors:
            outcome = await self.console.executor.command(ADMIT_MEMBER, actor, groupementId=groupement_id,
                                                          organisationId=organisation, decision=decision, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/groupements/{groupement_id}/membres?fait={outcome.position}&quoi=member"
                                        f"&membre={quote(organisation, safe='')}", 303)
            errors = self.answer_errors("member", outcome, {
                "organisationId": "member_organisation", "on": "member_on", "decision": "member_decision",
                "decidedOn": "member_decided_on"})
        return await self.members(request, actor, shown(values), errors)

    async def release_member(self, request: Request, actor: Actor) -> Response:
        values = await self.console.checked_form(request)
        if values is None:
            return self.console.csrf_refused(request)
        groupement_id = request.path_params["groupement"]
        errors: dict[str, str] = {}
        variables = parsed(values, {"release_on": ("on", french_date)}, errors)
        organisation = values.get("release_organisation", "").strip()
        if not organisation:
            errors["release_organisation"] = message("err_choice")
        if not errors:
            outcome = await self.console.executor.command(RELEASE_MEMBER, actor, groupementId=groupement_id,
                                                          organisationId=organisation, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/groupements/{groupement_id}/membres?fait={outcome.position}&quoi=release",
                                        303)
            errors = self.answer_errors("release", outcome, {"organisationId": "release_organisation",
                                                             "organisation": "release_organisation",
                                                             "on": "release_on"})
        return await self.members(request, actor, shown(values), errors)

    async def assign_auditor(self, request: Request, actor: Actor) -> Response:
        values = await self.console.checked_form(request)
        if values is None:
            return self.console.csrf_refused(request)
        groupement_id = request.path_params["groupement"]
        errors: dict[str, str] = {}
        organisation = values.get("auditor_organisation", "").strip()
        if not organisation:
            errors["auditor_organisation"] = message("err_choice")
        if not errors:
            outcome = await self.console.executor.command(ASSIGN_AUDITOR, actor, groupementId=groupement_id,
                                                          organisationId=organisation)
            if outcome.accepted:
                return RedirectResponse(f"/groupements/{groupement_id}/membres?fait={outcome.position}&quoi=auditor",
                                        303)
            errors = self.answer_errors("auditor", outcome, {"organisationId": "auditor_organisation",
                                                             "organisation": "auditor_organisation"})
        return await self.members(request, actor, shown(values), errors)

    async def register_organisation(self, request: Request, actor: Actor) -> Response:
        values = await self.console.checked_form(request)
        if values is None:
            return self.console.csrf_refused(request)
        groupement_id = request.path_params["groupement"]
        await self.coordinated(actor, groupement_id)  # registered from the page of a groupement one coordinates
        errors: dict[str, str] = {}
        kind = choice(values, "organisation_kind", ORGANISATION_KINDS, errors)
        variables = parsed(values, {"organisation_siret": ("siret", text(20)), "organisation_name": ("name", text())},
                           errors)
        if "siret" in variables:
            variables["siret"] = re.sub(r"\s", "", variables["siret"])
        if not errors:
            outcome = await self.console.executor.command(REGISTER_ORGANISATION, actor, kind=kind, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/groupements/{groupement_id}/membres?fait={outcome.position}"
                                        f"&quoi=organisation&organisation={outcome.payload['organisation']['id']}",
                                        303)
            errors = self.answer_errors("organisation", outcome, {
                "siret": "organisation_siret", "name": "organisation_name", "kind": "organisation_kind"})
        return await self.members(request, actor, shown(values), errors)

    # --- notify a marché ---------------------------------------------------------------------------------------

    async def marche_form(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                          errors: dict[str, str] | None = None) -> Response:
        groupement = await self.coordinated(actor, request.path_params["groupement"])
        _, suppliers = await self.names(actor)
        return self.page(request, "setup/marche.html", 422 if errors else 200,
                         title=message("marche_new_title", groupement=groupement["name"]), groupement=groupement,
                         form=MARCHE_FORM, choices={"suppliers": suppliers}, values=values or {"marche_clause": "1"},
                         errors=errors or {})

    async def notify_marche(self, request: Request, actor: Actor) -> Response:
        values = await self.console.checked_form(request)
        if values is None:
            return self.console.csrf_refused(request)
        groupement_id = request.path_params["groupement"]
        _, suppliers = await self.names(actor)
        errors: dict[str, str] = {}
        nature = choice(values, "marche_nature", MARCHE_NATURES, errors)
        titulaire = choice(values, "marche_titulaire", suppliers, errors)
        variables = parsed(values, {
            "marche_code": ("code", text(16)), "marche_object": ("object", text(1000)), "marche_cpv": ("cpv", text(16)),
            "marche_amount": ("initialAmount", french_decimal), "marche_months": ("durationMonths", french_integer),
            "marche_notified_on": ("notifiedOn", french_date),
            "marche_launched_on": ("launchedOn", lambda raw: french_date(raw, required=False)),
        }, errors)
        if not errors:
            outcome = await self.console.executor.command(
                NOTIFY_MARCHE, actor, groupementId=groupement_id, nature=nature, titulaireIds=[titulaire],
                hasClauseReexamen=values.get("marche_clause") == "1", **variables)
            if outcome.accepted:
                return RedirectResponse(f"/marches/{outcome.payload['marche']['id']}/plan/nouveau"
                                        f"?fait={outcome.position}", 303)
            errors = self.answer_errors("marche", outcome, {
                "code": "marche_code", "object": "marche_object", "cpv": "marche_cpv", "nature": "marche_nature",
                "titulaireIds": "marche_titulaire", "initialAmount": "marche_amount", "durationMonths": "marche_months",
                "notifiedOn": "marche_notified_on", "launchedOn": "marche_launched_on"})
        return await self.marche_form(request, actor, shown(values), errors)

    # --- draw up the plan --------------------------------------------------------------------------------------

    async def plan_form(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None) -> Response:
        marche_id = request.path_params["marche"]
        wanted = request.query_params.get("fait")
        groupement = await self.groupement_of_marche(actor, marche_id, wait=bool(wanted))
        marche = next(m for m in groupement["marches"] if m["id"] == marche_id)
        existing = None
        for plan_id in (plan["id"] for plan in groupement["plans"]):
            plan = (await self.run(PLAN_TITLE, actor, plan=plan_id))["plan"]
            if plan["marcheId"] == marche_id:
                existing = plan
        notice = message("marche_notified_ok", position=wanted) if wanted and wanted.isdigit() else None
        return self.page(request, "setup/plan_new.html", 422 if errors else 200,
                         title=message("plan_new_title", code=marche["code"]), marche=marche, existing=existing,
                         form=PLAN_FORM, choices={}, values=values or {}, errors=errors or {}, notice=notice)

    async def draw_up_plan(self, request: Request, actor: Actor) -> Response:
        values = await self.console.checked_form(request)
        if values is None:
            return self.console.csrf_refused(request)
        errors: dict[str, str] = {}
        variables = parsed(values, {"plan_title": ("title", text())}, errors)
        if not errors:
            outcome = await self.console.executor.command(DRAW_UP_PLAN, actor, marcheId=request.path_params["marche"],
                                                          **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{outcome.payload['plan']['id']}/mise-en-place"
                                        f"?fait={outcome.position}&quoi=plan", 303)
            errors = self.answer_errors("plan", outcome, {"title": "plan_title", "marcheId": "plan_title"})
        return await self.plan_form(request, actor, shown(values), errors)

    # --- fill the plan in --------------------------------------------------------------------------------------

    async def setup(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None, min_position: int | None = None) -> Response:

        plan_id = request.path_params["plan"]
        wanted = position_param(request, "fait") or min_position
        plan = (await self.read(SETUP_PLAN, actor, plan=plan_id, minPosition=wanted))["plan"]
        groupement = await self.coordinated(actor, plan["groupementId"])
        choices = await self.choices(actor, plan, groupement)
        done = f"setup_{request.query_params.get('quoi', '')}_ok"
        notice = None
        if wanted and not errors:
            notice = message("setup_done_ok", what=message(done), position=wanted) if done in MESSAGES else \
                message("review_done_ok", position=wanted)
        return self.page(request, "setup/plan.html", 422 if errors else 200,
                         title=message("setup_title", title=plan["title"]), plan=plan, forms=SETUP_FORMS,
                         choices=choices, values=values or {}, errors=errors or {}, notice=notice)

    async def choices(self, actor: Actor, plan: dict[str, Any],
                      groupement: dict[str, Any]) -> dict[str, dict[str, str]]:
        names, _ = await self.names(actor)
        marche = next((m for m in groupement["marches"] if m["id"] == plan["marcheId"]), {"titulaireIds": []})
        members = [m["organisationId"] for m in groupement["members"] if m["leftOn"] is None]
        parties = members + [t for t in marche["titulaireIds"] if t not in members]
        return {
            "members": dict(sorted(((p, names.get(p, p)) for p in members), key=lambda pair: pair[1])),
            "actions": {a["key"]: f"{a['title']} ({ACTION_STATUSES.get(a['status'], a['status'])})"
                        for a in plan["actions"]},
            "axes": {axis["key"]: axis["title"] for axis in plan["axes"]},
            "objectives": {o["key"]: f"{o['title']} ({axis['title']})" for axis in plan["axes"]
                           for o in axis["objectives"]},
            "parties": dict(sorted(((p, names.get(p, p)) for p in parties), key=lambda pair: pair[1])),
        }

    async def setup_step(self, request: Request, actor: Actor) -> Response:
        values = await self.console.checked_form(request)
        if values is None:
            return self.console.csrf_refused(request)
        step = request.path_params["form"]
        if step not in SETUP_STEPS:
            raise Refusal("not_found", "form")
        parse, document, _, mapping = SETUP_STEPS[step]
        plan_id = request.path_params["plan"]
        plan = (await self.read(SETUP_PLAN, actor, plan=plan_id))["plan"]
        groupements = await self.groupements(SETUP_GROUPEMENTS, actor)
        found = next((g for g in groupements if g["id"] == plan["groupementId"]), None)
        choices = await self.choices(actor, plan, {"marches": [], "members": [], **(found or {})})
        errors, variables = parse(values, choices)
        rows = variables.pop("_rows", [])
        if not errors:
            outcome = await self.console.executor.command(document, actor, planId=plan_id, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{plan_id}/mise-en-place?fait={outcome.position}&quoi={step}"
                                        f"#{step}", 303)
            errors = self.answer_errors(step, outcome, mapping, rows)
        return await self.setup(request, actor, shown(values), errors)


def shown(values: dict[str, str]) -> dict[str, str]:
    """The form's values shown back with its errors (never the CSRF token)."""
    from progres.console.web import CSRF_FIELD  # noqa: PLC0415

    return {key: value[:4000] for key, value in values.items() if key != CSRF_FIELD}


Page = Callable[[Request, Actor], Awaitable[Response]]


def setup_routes(console: Console, signed: Callable[[Page], Callable[[Request], Awaitable[Response]]]) -> list[Route]:
    pages = SetupPages(console)
    return [
        Route("/groupements/nouveau", signed(pages.groupement_form), methods=["GET"], name="groupement_new"),
        Route("/groupements/nouveau", signed(pages.constitute_groupement), methods=["POST"]),
        Route("/groupements/{groupement}/membres", signed(pages.members), methods=["GET"], name="members"),
        Route("/groupements/{groupement}/membres", signed(pages.admit_member), methods=["POST"]),
        Route("/groupements/{groupement}/organisations", signed(pages.register_organisation), methods=["POST"]),
        Route("/groupements/{groupement}/sorties", signed(pages.release_member), methods=["POST"]),
        Route("/groupements/{groupement}/audit", signed(pages.assign_auditor), methods=["POST"]),
        Route("/groupements/{groupement}/marches/nouveau", signed(pages.marche_form), methods=["GET"],
              name="marche_new"),
        Route("/groupements/{groupement}/marches/nouveau", signed(pages.notify_marche), methods=["POST"]),
        Route("/marches/{marche}/plan/nouveau", signed(pages.plan_form), methods=["GET"], name="plan_new"),
        Route("/marches/{marche}/plan/nouveau", signed(pages.draw_up_plan), methods=["POST"]),
        Route("/plans/{plan}/mise-en-place", signed(pages.setup), methods=["GET"], name="setup"),
        Route("/plans/{plan}/mise-en-place/{form}", signed(pages.setup_step), methods=["POST"]),
    ]
