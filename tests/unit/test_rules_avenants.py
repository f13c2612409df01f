"""The rules of avenants and of the DECP particulars (issue 14, first half), one test per rule: each asserts the
refusal's code and field and that nothing was written (log head unmoved), and the nearest case the rule lets
through. Then the R2194-8/-9 table: natures × buyers × dates × sequences × readings, its expectations computed
here from the dated thresholds table (domain/thresholds.py), and compared with what the domain answers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from progres.domain import errors as e
from progres.domain.thresholds import EU_THRESHOLDS, BuyerKind, ThresholdRow
from progres.domain.values import MarcheNature
from progres.services.policy import MANAGE, Actor, Parties, Policy
from tests.conftest import CONVENTION

SHA = "b" * 64
MINUTES = {"sha256": SHA, "name": "pv-cao.pdf", "media_type": "application/pdf"}


def refused(world: Any, command: Any, code: str, field: str | None) -> e.DomainError:
    head = world.head()
    with pytest.raises(e.DomainError) as caught:
        command()
    assert (caught.value.code, caught.value.field) == (code, field), caught.value.as_dict()
    assert world.head() == head, "a refused command must write nothing"
    return caught.value


def marche(world: Any, code: str, amount: str = "100000", nature: str = "fournitures", **kwargs: Any) -> str:
    return world.app.notify_marche(world.groupement, code, "Objet", "15500000-3", nature, [world.titulaire], amount,
                                   24, "2022-01-01", **kwargs).id


def propose(world: Any, marche_id: str, basis: str, delta: str, on: str = "2026-03-02") -> Any:
    return world.app.propose_avenant(marche_id, basis, "raison", {"amount_delta": delta}, on=on)


def avenants(world: Any, marche_id: str) -> list[Any]:
    return world.app.marche(marche_id).avenants


# R2194-8: the European threshold, dated, by nature and buyer
def test_r2194_8_a_works_marche_takes_a_small_modification_of_ten_percent(world):
    """R2194-8 CCP: works are capped at 15 % and by the works threshold (5 404 000 € HT in 2026-2027), not by the
    supplies one: +300 000 € (10 %) on a 3 000 000 € works marché is lawful."""
    works = marche(world, "TRAVAUX-1", "3000000", "travaux")
    propose(world, works, "R2194-8", "300000")
    assert avenants(world, works)[0].small_modifications["threshold"]["amount"] == "5404000"
    supplies = marche(world, "FOURNIT-1", "3000000")
    refused(world, lambda: propose(world, supplies, "R2194-8", "300000"), "avenant_basis_not_allowed",
            "changes.amount_delta")


def test_r2194_8_the_threshold_in_force_on_the_avenant_s_date_applies(world):
    """R2194-8 CCP and CCP annexe n° 2: 221 000 € HT for local buyers' supplies in 2024-2025 (règlement délégué
    (UE) 2023/2495), 216 000 € HT from 1 January 2026 (règlement délégué (UE) 2025/2152)."""
    big = marche(world, "GROS-1", "3000000")
    propose(world, big, "R2194-8", "220000", on="2025-12-31")
    other = marche(world, "GROS-2", "3000000")
    error = refused(world, lambda: propose(world, other, "R2194-8", "220000", on="2026-01-01"),
                    "avenant_basis_not_allowed", "changes.amount_delta")
    assert "216000 € HT en vigueur du 2026-01-01 au 2027-12-31" in error.message
    assert "2025/2152" in error.message


def test_r2194_8_the_central_state_and_entites_adjudicatrices_read_their_own_columns(world):
    """R2194-8 CCP with directive 2014/24 art. 4 (autorités publiques centrales: 143 000 → 140 000 € HT) and
    directive 2014/25 art. 15 (entités adjudicatrices: 443 000 → 432 000 € HT)."""
    state = marche(world, "ETAT-1", "3000000", buyer_kind="autorite_publique_centrale")
    refused(world, lambda: propose(world, state, "R2194-8", "141000", on="2026-06-01"), "avenant_basis_not_allowed",
            "changes.amount_delta")
    propose(world, state, "R2194-8", "141000", on="2025-06-01")  # 143 000 € in 2025
    utility = marche(world, "EA-1", "5000000", buyer_kind="entite_adjudicatrice")
    propose(world, utility, "R2194-8", "431000", on="2026-06-01")
    refused(world, lambda: propose(world, utility, "R2194-8", "1000", on="2026-06-01"), "avenant_basis_not_allowed",
            "changes.amount_delta")  # 432 000 € reached, net


def test_r2194_8_the_threshold_is_checked_again_on_the_day_of_signature(world):
    """R2194-8 CCP: the modification is concluded when signed; a threshold lowered meanwhile (1 January 2026)
    refuses the signature."""
    big = marche(world, "GROS-3", "3000000", awarded_by_cao=False)  # +7 %: no CAO opinion to wait for
    propose(world, big, "R2194-8", "218000", on="2025-12-15")
    refused(world, lambda: world.app.sign_avenant(big, 1, "2026-01-05"), "avenant_basis_not_allowed", "signed_on")
    world.app.sign_avenant(big, 1, "2025-12-31")


def test_r2194_8_a_date_outside_the_thresholds_table_is_refused(world):
    """R2194-8 CCP: the thresholds after 2027 are not published yet; the platform does not guess them."""
    refused(world, lambda: propose(world, world.marche, "R2194-8", "1000", on="2028-01-01"), "eu_threshold_unknown",
            "on")
    propose(world, world.marche, "R2194-7", "1000", on="2028-01-01")  # other bases need no threshold


def test_r2194_8_an_avenant_is_dated_after_its_marche(world):
    """R2194-1 CCP: a modification is one of a marché in force: dated on or after the marché's notification."""
    refused(world, lambda: propose(world, world.marche, "R2194-7", "1000", on="2021-12-31"), "invalid_input", "on")


# R2194-9: net cumulation by default, absolute on the groupement's choice
def test_r2194_9_small_modifications_cumulate_their_net_value_by_default(world):
    """R2194-9 CCP read with directive 2014/24/UE art. 72(2) ("net cumulative value"): +9 %, -5 %, +5 % nets 9 %."""
    for delta in ("9000", "-5000", "5000"):
        propose(world, world.marche, "R2194-8", delta)
    recorded = avenants(world, world.marche)
    assert [a.cumulation.value for a in recorded] == ["net"] * 3
    assert [a.small_modifications["cumulated"] for a in recorded] == ["9000", "4000", "9000"]
    assert recorded[-1].small_modifications["reading"] == "net"
    error = refused(world, lambda: propose(world, world.marche, "R2194-9", "1001"), "avenant_cap_exceeded",
                    "changes.amount_delta")
    assert "(cumulés sur les modifications de faible montant)" in error.message


def test_r2194_9_each_small_modification_stays_within_the_cap_even_when_the_net_value_does(world):
    """R2194-8 CCP: each modification is below 10 %; R2194-9 adds the cumulation, it does not replace it."""
    propose(world, world.marche, "R2194-8", "-5000")
    error = refused(world, lambda: propose(world, world.marche, "R2194-8", "12000"), "avenant_cap_exceeded",
                    "changes.amount_delta")
    assert "(par modification de faible montant)" in error.message


def test_r2194_9_a_groupement_may_read_the_cumulation_in_absolute_values(world):
    """R2194-9 CCP ("montant cumulé"): on legal advice the groupement records the absolute reading; later
    avenants apply it and say so."""
    world.app.choose_small_modifications_reading(world.groupement, "absolute", "2022-02-01", "avis du conseil",
                                                 MINUTES)
    propose(world, world.marche, "R2194-8", "9000")
    propose(world, world.marche, "R2194-8", "-1000")
    error = refused(world, lambda: propose(world, world.marche, "R2194-9", "1"), "avenant_cap_exceeded",
                    "changes.amount_delta")
    assert "en valeur absolue" in error.message
    assert [a.cumulation.value for a in avenants(world, world.marche)] == ["absolute", "absolute"]
    assert world.app.groupement(world.groupement).small_modifications_reading.value == "absolute"


def test_r2194_9_the_reading_is_recorded_by_an_event_of_the_groupement(world):
    """R2194-9 CCP: the choice of reading is the groupement's (convention constitutive, L2113-7), dated and
    reasoned."""
    choose = world.app.choose_small_modifications_reading
    refused(world, lambda: choose(world.groupement, "gross", "2022-02-01", "avis"), "invalid_input", "reading")
    refused(world, lambda: choose(world.groupement, "net", "2022-02-01", "avis"), "invalid_input", "reading")
    refused(world, lambda: choose(world.groupement, "absolute", "2021-05-01", "avis"), "date_before_convention", "on")
    refused(world, lambda: choose(world.groupement, "absolute", "2022-02-01", " "), "invalid_input", "reason")
    choose(world.groupement, "absolute", "2022-02-01", "avis")
    choose(world.groupement, "net", "2023-02-01", "nouvel avis")
    assert world.app.groupement(world.groupement).small_modifications_reading.value == "net"


def test_r2194_3_the_fifty_percent_cap_binds_pouvoirs_adjudicateurs_only(world):
    """R2194-3 CCP: "pour les marchés passés par les pouvoirs adjudicateurs, qui ne sont pas des entités
    adjudicatrices", each R2194-2/-5 modification is at most 50 %."""
    refused(world, lambda: propose(world, world.marche, "R2194-2", "60000"), "avenant_cap_exceeded",
            "changes.amount_delta")
    utility = marche(world, "EA-2", buyer_kind="entite_adjudicatrice")
    propose(world, utility, "R2194-2", "60000")


def test_a_marche_names_a_known_kind_of_buyer(world):
    """CCP L1211-1 and L1212-1 (pouvoirs adjudicateurs, entités adjudicatrices): the column of the thresholds."""
    refused(world, lambda: marche(world, "X-1", buyer_kind="mairie"), "invalid_input", "buyer_kind")


# L1414-4 CGCT: the CAO's opinion
def flagged(world: Any) -> None:
    propose(world, world.marche, "R2194-7", "6000")  # +6 % of a marché the CAO awarded (the default)


def test_l1414_4_cgct_a_flagged_avenant_is_not_signed_without_the_cao_opinion(world):
    """L1414-4 CGCT: "tout projet de modification ... entraînant une augmentation du montant global supérieure
    à 5 % est soumis pour avis à la commission d'appel d'offres" — before it is signed."""
    flagged(world)
    assert avenants(world, world.marche)[0].needs_cao_opinion
    refused(world, lambda: world.app.sign_avenant(world.marche, 1, "2026-04-01"), "cao_opinion_missing",
            "cao_opinion")
    world.app.record_cao_opinion(world.marche, 1, "2026-03-20", False, MINUTES)
    world.app.sign_avenant(world.marche, 1, "2026-04-01")  # the opinion is advisory: unfavourable, still signed
    opinion = avenants(world, world.marche)[0].cao_opinion
    assert (opinion.given_on, opinion.favourable, opinion.document.sha256) == (date(2026, 3, 20), False, SHA)


def test_l1414_4_cgct_does_not_apply_to_marches_the_cao_did_not_award(world):
    """L1414-4 CGCT, last sentence: not applicable to marchés not submitted to the CAO."""
    other = marche(world, "MAPA-1", awarded_by_cao=False)
    propose(world, other, "R2194-7", "6000")
    assert not avenants(world, other)[0].needs_cao_opinion
    refused(world, lambda: world.app.record_cao_opinion(other, 1, "2026-03-20", True, MINUTES),
            "cao_opinion_not_expected", "number")
    world.app.sign_avenant(other, 1, "2026-04-01")


def test_l1414_4_cgct_the_opinion_is_dated_documented_given_once_and_before_the_signature(world):
    """L1414-4 CGCT: an opinion on the projet d'avenant — its minutes referenced by hash, once, before signing."""
    flagged(world)
    record = world.app.record_cao_opinion
    refused(world, lambda: record(world.marche, 1, "2026-03-20", True), "invalid_input", "document")
    refused(world, lambda: record(world.marche, 1, "2026-03-01", True, MINUTES), "invalid_input", "given_on")
    refused(world, lambda: record(world.marche, 9, "2026-03-20", True, MINUTES), "avenant_not_found", "number")
    record(world.marche, 1, "2026-03-20", True, MINUTES)
    refused(world, lambda: record(world.marche, 1, "2026-03-21", True, MINUTES), "cao_opinion_already_recorded",
            "number")
    refused(world, lambda: world.app.sign_avenant(world.marche, 1, "2026-03-19"), "signed_before_cao_opinion",
            "signed_on")
    world.app.sign_avenant(world.marche, 1, "2026-03-20")
    refused(world, lambda: record(world.marche, 1, "2026-03-20", True, MINUTES), "avenant_wrong_state", "number")


def test_l1414_4_cgct_recording_the_opinion_is_the_coordonnateur_s(world):
    """L1414-4 CGCT and CCP L2113-7: the coordonnateur runs the procedure, its CAO gives the opinion."""
    parties = Parties("g", "region", frozenset({"region", "lycee"}), frozenset({"titulaire"}))
    policy = Policy()
    from progres.services.policy import MANAGING_COMMANDS  # noqa: PLC0415

    assert {"record_cao_opinion", "correct_particulars", "choose_small_modifications_reading"} <= MANAGING_COMMANDS
    assert policy.allowed(Actor.parse("region", "coordonnateur"), MANAGE, parties)
    assert not policy.allowed(Actor.parse("lycee", "acheteur"), MANAGE, parties)
    assert not policy.allowed(Actor.parse("titulaire", "titulaire"), MANAGE, parties)


# DECP particulars: the official schema's code lists, and their correction
def test_decp_particulars_outside_the_official_code_lists_are_refused(world):
    """Arrêté du 22 décembre 2022 (données essentielles), schema DECP 2.0.3: procedure, typePrix… take their
    values from the schema's code lists."""
    refused(world, lambda: marche(world, "DECP-1", particulars={"procedure": "MAPA"}), "invalid_particular",
            "particulars.procedure")
    refused(world, lambda: marche(world, "DECP-2", particulars={"types_prix": ["Définitif ferme", "Ferme"]}),
            "invalid_particular", "particulars.types_prix[1]")
    refused(world, lambda: marche(world, "DECP-3", particulars={"lieu_execution": {"code": "62498",
                                                                                    "type_code": "INSEE"}}),
            "invalid_particular", "particulars.lieu_execution.type_code")
    refused(world, lambda: marche(world, "DECP-4", particulars={"taux_avance": 5}), "invalid_particular",
            "particulars.taux_avance")
    marche(world, "DECP-5", particulars={"procedure": "Procédure adaptée", "types_prix": ["Définitif ferme"]})


def test_decp_particulars_are_corrected_by_an_event_after_notification(world):
    """Arrêté du 22 décembre 2022: published essential data are corrected, never edited in place."""
    correct = world.app.correct_particulars
    refused(world, lambda: correct(world.marche, {"ccag": "CCAG-FCS"}, "erreur de saisie"), "invalid_particular",
            "particulars.ccag")
    refused(world, lambda: correct(world.marche, {}, "rien"), "invalid_input", "particulars")
    refused(world, lambda: correct(world.marche, {"colour": "blue"}, "?"), "invalid_input", "particulars.colour")
    correct(world.marche, {"ccag": "Fournitures courantes et services"}, "erreur de saisie")
    refused(world, lambda: correct(world.marche, {"ccag": "Fournitures courantes et services"}, "encore"),
            "invalid_input", "particulars")
    world.app.close_marche(world.marche, "2023-12-31")
    correct(world.marche, {"offres_recues": 3}, "nombre d'offres oublié")  # still correctable once closed
    assert world.app.marche(world.marche).particulars == {"ccag": "Fournitures courantes et services",
                                                          "offres_recues": 3}


# The R2194-8/-9 table
NATURES = [MarcheNature.FOURNITURES, MarcheNature.SERVICES, MarcheNature.TRAVAUX]
BUYERS = list(BuyerKind)
DATES = [date(2022, 3, 1), date(2023, 12, 31), date(2024, 1, 1), date(2025, 12, 31), date(2026, 1, 1),
         date(2027, 12, 31)]
INITIAL = Decimal(2_500_000)
SEQUENCES = {
    "increase": [100_000, 114_000, 5_000, 100_000],
    "decrease": [-150_000, -80_000, -20_000],
    "mixed": [200_000, -150_000, 180_000, -60_000],
    "mixed-reduction-first": [-90_000, 130_000, 120_000, 260_000],
    "works-sized": [300_000, 80_000, -10_000],
}
CAPS = {MarcheNature.FOURNITURES: Decimal(10), MarcheNature.SERVICES: Decimal(10), MarcheNature.TRAVAUX: Decimal(15)}


def threshold_row(nature: MarcheNature, buyer: BuyerKind, on: date) -> ThresholdRow:
    """The row of the thresholds table in force: read from the table, by its own columns."""
    rows = [r for r in EU_THRESHOLDS
            if nature in r.natures and buyer in r.buyers and r.valid_from <= on <= r.valid_until]
    assert len(rows) == 1, (nature, buyer, on)
    return rows[0]


def expected_outcomes(nature: MarcheNature, buyer: BuyerKind, on: date, steps: list[int], reading: str) -> list[str]:
    """For each step: "ok", "avenant_cap_exceeded" or "avenant_basis_not_allowed", from R2194-8/-9 read here."""
    threshold, cap = threshold_row(nature, buyer, on).amount, CAPS[nature]
    accepted: list[Decimal] = []
    outcomes = []
    for step in map(Decimal, steps):
        deltas = [*accepted, step]
        cumulated = abs(sum(deltas)) if reading == "net" else sum(abs(d) for d in deltas)
        if cumulated * 100 > cap * INITIAL or abs(step) * 100 > cap * INITIAL:
            outcomes.append("avenant_cap_exceeded")
        elif max(cumulated, abs(step)) >= threshold:
            outcomes.append("avenant_basis_not_allowed")
        else:
            outcomes.append("ok")
            accepted.append(step)
    return outcomes


@dataclass
class Table:
    world: Any
    groupements: dict[str, str]
    count: int = 0


_TABLES: list[Table] = []


@pytest.fixture
def table(world_factory) -> Table:
    """One in-memory world shared by the cases of the table (each case notifies its own marché)."""
    from progres.services.commands import Progres  # noqa: PLC0415

    if not _TABLES:
        world = world_factory(Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}))
        absolute = world.app.constitute_groupement("GC-ABS", "Groupement lecture absolue", "Achats", True,
                                                   world.region, "2021-06-01", CONVENTION).id
        world.app.choose_small_modifications_reading(absolute, "absolute", "2021-06-01", "avis juridique")
        _TABLES.append(Table(world, {"net": world.groupement, "absolute": absolute}))
    return _TABLES[0]


CASES = list(itertools.product(NATURES, BUYERS, DATES, SEQUENCES, ["net", "absolute"]))


@pytest.mark.parametrize(("nature", "buyer", "on", "sequence", "reading"), CASES,
                         ids=[f"{n}-{b}-{d}-{s}-{r}" for n, b, d, s, r in CASES])
def test_r2194_8_and_9_over_natures_buyers_dates_and_sequences(table, nature, buyer, on, sequence, reading):
    """R2194-8 and R2194-9 CCP, directive 2014/24 art. 72(2), CCP annexe n° 2: the domain's answer to each
    successive small modification equals the one computed here from the dated thresholds table."""
    table.count += 1
    world, app = table.world, table.world.app
    marche_id = app.notify_marche(table.groupements[reading], f"T{table.count:05d}", "Objet", "15500000-3",
                                  nature.value, [world.titulaire], str(INITIAL), 48, "2022-01-01",
                                  buyer_kind=buyer.value).id
    steps = SEQUENCES[sequence]
    answers, heads, fields = [], [], set()
    for step in steps:
        head = world.head()
        try:
            app.propose_avenant(marche_id, "R2194-8", "faible montant", {"amount_delta": str(step)},
                                on=on.isoformat())
            answers.append("ok")
        except e.DomainError as error:
            answers.append(error.code)
            fields.add(error.field)
            heads.append((world.head(), head))
    assert answers == expected_outcomes(nature, buyer, on, steps, reading)
    assert fields <= {"changes.amount_delta"}
    assert all(after == before for after, before in heads), "a refused avenant writes nothing"
    row = threshold_row(nature, buyer, on)
    for avenant in app.marche(marche_id).avenants:
        assert avenant.small_modifications["threshold"] == row.as_dict()
        assert avenant.small_modifications["reading"] == reading


def test_the_table_exercises_every_outcome():
    """The table is not vacuous: acceptances, cap refusals and threshold refusals all occur, and the readings
    disagree somewhere."""
    outcomes = {o for n, b, d, s, r in CASES for o in expected_outcomes(n, b, d, SEQUENCES[s], r)}
    assert outcomes == {"ok", "avenant_cap_exceeded", "avenant_basis_not_allowed"}
    assert any(expected_outcomes(n, b, d, SEQUENCES[s], "net") != expected_outcomes(n, b, d, SEQUENCES[s], "absolute")
               for n, b, d, s, _ in CASES)
    assert any(threshold_row(n, b, date(2025, 6, 1)).amount != threshold_row(n, b, date(2026, 6, 1)).amount
               for n, b in itertools.product(NATURES, BUYERS))
