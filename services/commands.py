"""One short method per command of the domain: load, decide, save (with retries and receipts)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from progres.domain.errors import (
    DomainError,
    GroupementAlreadyExists,
    GroupementNotFound,
    InvalidInput,
    MarcheAlreadyNotified,
    MarcheNotFound,
    MeasureAlreadyRecorded,
    MeasureNotFound,
    NotAParty,
    OrganisationAlreadyRegistered,
    OrganisationNotFound,
    PlanAlreadyExists,
    PlanNotFound,
    ProposalNotFound,
    ProposalOfAnotherPlan,
    ReviewNotFound,
)
from progres.domain.groupements import Groupement
from progres.domain.marches import Marche, Roster
from progres.domain.measures import Measure
from progres.domain.organisations import Organisation
from progres.domain.plans import ProgressPlan
from progres.domain.proposals import Proposal
from progres.domain.reviews import Review
from progres.domain.values import DocumentRef, Period, Siret, parse_date
from progres.services.applications import CommandResult, ProgresApplication, namespaced

Day = date | str
Doc = dict[str, str] | None


def _uuid(value: UUID | str, field: str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise InvalidInput(field, rule=f"« {value} » n'est pas un identifiant") from None


def _doc(data: Doc) -> DocumentRef | None:
    return DocumentRef.from_dict(data)


def utc_today() -> date:
    return datetime.now(UTC).date()


class Progres(ProgresApplication):
    """The commands of progres. Each returns a CommandResult; a refused command raises a DomainError."""

    # The server's clock: the day rules that must not trust a client's date are judged on (who may record).
    # Tests of those rules set another; nothing a client sends reaches it.
    clock: Callable[[], date] = staticmethod(utc_today)

    def today(self) -> date:
        return self.clock()

    # Loading helpers
    def organisation(self, organisation_id: UUID | str) -> Organisation:
        return self.load(Organisation, _uuid(organisation_id, "organisation_id"), OrganisationNotFound)

    def groupement(self, groupement_id: UUID | str) -> Groupement:
        return self.load_for_change(Groupement, _uuid(groupement_id, "groupement_id"), GroupementNotFound)

    def marche(self, marche_id: UUID | str) -> Marche:
        return self.load_for_change(Marche, _uuid(marche_id, "marche_id"), MarcheNotFound)

    def plan(self, plan_id: UUID | str) -> ProgressPlan:
        return self.load_for_change(ProgressPlan, _uuid(plan_id, "plan_id"), PlanNotFound)

    def proposal(self, proposal_id: UUID | str) -> Proposal:
        return self.load(Proposal, _uuid(proposal_id, "proposal_id"), ProposalNotFound)

    def review(self, review_id: UUID | str) -> Review:
        return self.load(Review, _uuid(review_id, "review_id"), ReviewNotFound)

    def measure(self, measure_id_: UUID | str) -> Measure:
        return self.load(Measure, _uuid(measure_id_, "measure_id"), MeasureNotFound)

    def plan_context(self, plan_id: UUID | str) -> tuple[ProgressPlan, Groupement, Marche]:
        plan = self.plan(plan_id)
        return plan, self.groupement(plan.groupement_id), self.marche(plan.marche_id)

    def cached_plan_context(self, plan_id: UUID | str,
                            fresh: bool = False) -> tuple[ProgressPlan, Groupement, Marche]:
        """The same, as read-only cached copies (read from the store if `fresh`): for commands that decide on them
        without changing them, and check them against the store before saving (`decide_on_current`)."""
        plan = self.load_cached(ProgressPlan, _uuid(plan_id, "plan_id"), PlanNotFound, fresh)
        return (plan, self.load_cached(Groupement, plan.groupement_id, GroupementNotFound, fresh),
                self.load_cached(Marche, plan.marche_id, MarcheNotFound, fresh))

    def roster(self, groupement: Groupement, marche: Marche) -> Roster:
        """The marché's roster (domain/marches.py) of stored states (copies from `cached_plan_context`, unchanged),
        kept with the cached copies: one per version of the groupement and the marché."""
        if groupement.pending_events or marche.pending_events:
            return marche.roster(groupement)
        key = ("roster", groupement.id, groupement.version, marche.id, marche.version)
        return self.context_cache.memo(key, lambda: marche.roster(groupement))

    # References: whatever a command cites besides its target belongs to the target's groupement. A foreign
    # proposal answers exactly as an unknown one, so that no tenant learns what another holds.
    def proposal_of(self, proposal_id: UUID | str, groupement_id: UUID) -> Proposal:
        proposal = self.proposal(proposal_id)
        if proposal.groupement_id != groupement_id:
            raise ProposalNotFound("id", id=proposal.id)
        return proposal

    def check_parties(self, groupement: Groupement, marche: Marche | None, organisation_ids: list[Any],
                      field: str) -> None:
        """Organisations a command names (owners, members, participants) must take part in the groupement."""
        parties = {m.organisation_id for m in groupement.memberships} | set(groupement.auditor_ids)
        parties |= set(marche.titulaire_ids) if marche is not None else set()
        for organisation_id in organisation_ids:
            if organisation_id and _uuid(organisation_id, field) not in parties:
                raise NotAParty(field, org=_uuid(organisation_id, field))

    def check_members(self, groupement: Groupement, member_ids: list[UUID], field: str) -> None:
        members = {m.organisation_id for m in groupement.memberships}
        for member_id in member_ids:
            if member_id not in members:
                raise NotAParty(field, org=member_id)


    @staticmethod
    def new_id(kind: str, command_id: str | None) -> UUID:
        return namespaced(kind, command_id) if command_id else uuid4()

    # Organisations and groupements
    def register_organisation(self, siret: str | None, name: str, kind: str, vat_number: str | None = None,
                              command_id: str | None = None) -> CommandResult:
        """Registers an organisation: a SIRET for a French one, a VAT number for a buyer of another EU state."""
        def action() -> Any:
            if siret and not vat_number:
                Siret(siret)  # a mistyped SIRET says so before anything else
            organisation = Organisation.register(siret, name, kind, vat_number)
            if self.exists(organisation.id):
                field = "siret" if organisation.siret else "vat_number"
                raise OrganisationAlreadyRegistered(field, siret=organisation.identifier)
            return organisation.id, [organisation]
        return self.execute("register_organisation", command_id, action)

    def constitute_groupement(
        self, code: str, name: str, purpose: str, permanent: bool, coordonnateur_id: UUID | str,
        signed_on: Day, convention: Doc = None, shares_member_details: bool = False,
        withdrawal_clause: str | None = None, command_id: str | None = None,
    ) -> CommandResult:
        """Constitutes a groupement by its signed convention (L2113-6) and the convention's withdrawal clause.

        withdrawal_clause: bound_until_marche_end (the default) or ends_at_withdrawal."""
        def action() -> Any:
            if self.exists(Groupement.create_id(code)):
                raise GroupementAlreadyExists("code", id=code)
            groupement = Groupement.constitute(
                code, name, purpose, permanent, self.organisation(coordonnateur_id),
                parse_date(signed_on, "signed_on"), _doc(convention), shares_member_details, withdrawal_clause,
            )
            return groupement.id, [groupement]
        return self.execute("constitute_groupement", command_id, action)

    def admit_member(self, groupement_id: UUID | str, organisation_id: UUID | str, on: Day, decision: Doc = None,
                     decided_on: Day | None = None, command_id: str | None = None) -> CommandResult:
        """Admits a member on its délibération or décision d'adhésion (document by hash, and its date)."""
        def action() -> Any:
            groupement = self.groupement(groupement_id)
            groupement.admit(self.organisation(organisation_id), parse_date(on, "on"), _doc(decision),
                             parse_date(decided_on, "decided_on") if decided_on is not None else None)
            return groupement.id, [groupement]
        return self.execute("admit_member", command_id, action)

    def release_member(self, groupement_id: UUID | str, organisation_id: UUID | str, on: Day,
                       command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            groupement = self.groupement(groupement_id)
            groupement.release(_uuid(organisation_id, "organisation_id"), parse_date(on, "on"))
            return groupement.id, [groupement]
        return self.execute("release_member", command_id, action)

    def choose_small_modifications_reading(self, groupement_id: UUID | str, reading: str, on: Day, reason: str,
                                           document: Doc = None, command_id: str | None = None) -> CommandResult:
        """Records how the groupement reads R2194-9 (net, the directive's reading and the default, or absolute)."""
        def action() -> Any:
            groupement = self.groupement(groupement_id)
            groupement.choose_small_modifications_reading(reading, parse_date(on, "on"), reason, _doc(document))
            return groupement.id, [groupement]
        return self.execute("choose_small_modifications_reading", command_id, action)

    def assign_auditor(self, groupement_id: UUID | str, organisation_id: UUID | str,
                       command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            groupement = self.groupement(groupement_id)
            groupement.assign_auditor(self.organisation(organisation_id))
            return groupement.id, [groupement]
        return self.execute("assign_auditor", command_id, action)

    # Marchés
    def notify_marche(
        self, groupement_id: UUID | str, code: str, object: str, cpv: str, nature: str,
        titulaire_ids: list[UUID | str], initial_amount: Any, duration_months: int, notified_on: Day,
        has_clause_reexamen: bool = False, lots: list[dict[str, Any]] | None = None,
        particulars: dict[str, Any] | None = None, buyer_kind: str = "pouvoir_adjudicateur",
        awarded_by_cao: bool = True, launched_on: Day | None = None, command_id: str | None = None,
    ) -> CommandResult:
        """Notifies the marché awarded by a groupement; its parties are the members on the day it was launched.

        particulars: what DECP publishes (see Marche); launched_on: the day its consultation was launched (by
        default, the notification day)."""
        def action() -> Any:
            groupement = self.groupement(groupement_id)
            if self.exists(Marche.create_id(groupement.id, code)):
                raise MarcheAlreadyNotified("code", id=code)
            marche = Marche.notify(
                groupement, code, object, cpv, nature, [self.organisation(t) for t in titulaire_ids],
                initial_amount, duration_months, parse_date(notified_on, "notified_on"), has_clause_reexamen, lots,
                particulars, buyer_kind, awarded_by_cao,
                parse_date(launched_on, "launched_on") if launched_on is not None else None,
            )
            return marche.id, [marche]
        return self.execute("notify_marche", command_id, action)

    def correct_particulars(self, marche_id: UUID | str, particulars: dict[str, Any], reason: str,
                            command_id: str | None = None) -> CommandResult:
        """Corrects the marché's DECP particulars after notification (checked against the DECP schema)."""
        def action() -> Any:
            marche = self.marche(marche_id)
            marche.correct_particulars(particulars, reason)
            return marche.id, [marche]
        return self.execute("correct_particulars", command_id, action)

    def close_marche(self, marche_id: UUID | str, on: Day, command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            marche = self.marche(marche_id)
            marche.close(parse_date(on, "on"))
            return marche.id, [marche]
        return self.execute("close_marche", command_id, action)

    # Plan de progrès
    def draw_up_plan(self, marche_id: UUID | str, title: str, command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            marche = self.marche(marche_id)
            if self.exists(ProgressPlan.create_id(marche.id)):
                raise PlanAlreadyExists("marche_id", marche=marche.code)
            plan = ProgressPlan.draw_up(marche, title)
            return plan.id, [plan]
        return self.execute("draw_up_plan", command_id, action)

    def _on_plan(self, command: str, plan_id: UUID | str, command_id: str | None, change: Any) -> CommandResult:
        def action() -> Any:
            plan = self.plan(plan_id)
            change(plan)
            return plan.id, [plan]
        return self.execute(command, command_id, action)

    def add_axis(self, plan_id: UUID | str, key: str, title: str, description: str = "",
                 command_id: str | None = None) -> CommandResult:
        return self._on_plan("add_axis", plan_id, command_id, lambda p: p.add_axis(key, title, description))

    def add_objective(self, plan_id: UUID | str, key: str, axis_key: str, title: str, kind: str,
                      command_id: str | None = None) -> CommandResult:
        return self._on_plan("add_objective", plan_id, command_id,
                             lambda p: p.add_objective(key, axis_key, title, kind))

    def define_indicator(self, plan_id: UUID | str, spec: dict[str, Any],
                         command_id: str | None = None) -> CommandResult:
        return self._on_plan("define_indicator", plan_id, command_id, lambda p: p.define_indicator(spec))

    def plan_action(
        self, plan_id: UUID | str, key: str, axis_key: str, title: str, owner: str, due_on: Day,
        owner_organisation_id: UUID | str | None = None, member_ids: list[UUID | str] | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        owner_id = _uuid(owner_organisation_id, "owner_organisation_id") if owner_organisation_id else None
        members = [_uuid(m, "member_ids") for m in member_ids or []]

        def action() -> Any:
            plan, groupement, marche = self.plan_context(plan_id)
            self.check_parties(groupement, marche, [owner_id], "owner_organisation_id")
            self.check_members(groupement, members, "member_ids")
            plan.plan_action(key, axis_key, title, owner, parse_date(due_on, "due_on"), owner_id, members)
            return plan.id, [plan]
        return self.execute("plan_action", command_id, action)

    def change_action_status(self, plan_id: UUID | str, key: str, status: str, on: Day, note: str = "",
                             command_id: str | None = None) -> CommandResult:
        return self._on_plan("change_action_status", plan_id, command_id,
                             lambda p: p.change_action_status(key, status, parse_date(on, "on"), note))

    def commit_resource(self, plan_id: UUID | str, party: str, description: str, amount: Any = None,
                        command_id: str | None = None) -> CommandResult:
        return self._on_plan("commit_resource", plan_id, command_id,
                             lambda p: p.commit_resource(party, description, amount))

    def schedule_milestone(self, plan_id: UUID | str, key: str, title: str, due_on: Day,
                           command_id: str | None = None) -> CommandResult:
        return self._on_plan("schedule_milestone", plan_id, command_id,
                             lambda p: p.schedule_milestone(key, title, parse_date(due_on, "due_on")))

    def define_gain_sharing(
        self, plan_id: UUID | str, basis: str, reference: str, period_months: int, shares: dict[str, Any],
        member_split: str, settlement: str, command_id: str | None = None,
    ) -> CommandResult:
        return self._on_plan("define_gain_sharing", plan_id, command_id, lambda p: p.define_gain_sharing(
            basis, reference, period_months, shares, member_split, settlement))

    def define_governance(self, plan_id: UUID | str, body: str, participants: list[str],
                          review_frequency_months: int, command_id: str | None = None) -> CommandResult:
        return self._on_plan("define_governance", plan_id, command_id,
                             lambda p: p.define_governance(body, participants, review_frequency_months))

    def declare_purchase_volume(self, plan_id: UUID | str, member_id: UUID | str, amount: Any,
                                command_id: str | None = None) -> CommandResult:
        member = _uuid(member_id, "member_id")

        def action() -> Any:
            plan, groupement, marche = self.plan_context(plan_id)
            plan.declare_purchase_volume(member, amount, groupement, marche)
            return plan.id, [plan]
        return self.execute("declare_purchase_volume", command_id, action)

    def close_plan_with_bilan_final(self, plan_id: UUID | str, on: Day, summary: str, document: Doc = None,
                                    command_id: str | None = None) -> CommandResult:
        return self._on_plan("close_plan_with_bilan_final", plan_id, command_id,
                             lambda p: p.close_with_bilan_final(parse_date(on, "on"), summary, _doc(document)))

    # Measures
    def record_measure(
        self, plan_id: UUID | str, indicator_key: str, member_id: UUID | str | None, period_start: Day,
        period_end: Day, source: str, recorded_by: UUID | str, declared_on: Day | None = None, value: Any = None,
        assessment: str | None = None, evidence: Doc = None, command_id: str | None = None,
    ) -> CommandResult:
        """Records a measure: the server stamps when; declaredOn is the recorder's business date, as declared.

        declared_on: its invoice's or count's date, by default today, never in the future."""
        member = _uuid(member_id, "member_id") if member_id is not None else None
        period = Period.parse(str(period_start), str(period_end))
        declared = parse_date(declared_on, "declared_on") if declared_on is not None else None

        def decide(plan: ProgressPlan, groupement: Groupement, marche: Marche) -> tuple[Measure, list[UUID]]:
            plan.check_open()  # a closed plan says so before anything else
            measure = Measure.record(
                plan, groupement, marche, indicator_key=indicator_key, member_id=member, period=period,
                value=value, assessment=assessment, source=source, recorded_by=_uuid(recorded_by, "recorded_by"),
                today=self.today(), declared_on=declared, evidence=_doc(evidence),
                roster=self.roster(groupement, marche),
            )
            # After the period is fitted: a partial period has one id, given either way.
            return measure, [measure.id]

        def action() -> Any:
            # Decided on the cached plan, groupement and marché; one query checks that they are current and looks
            # the new measure up (not left to the store's unique key: a refused save would still consume a log
            # position on PostgreSQL and wait a retry's back-off).
            measure, found = self.decide_on_current(functools.partial(self.cached_plan_context, plan_id), decide)
            if found:
                raise MeasureAlreadyRecorded("period")
            return measure.id, [measure]
        return self.execute("record_measure", command_id, action)

    def import_measures(
        self, plan_id: UUID | str, rows: list[dict[str, Any]], recorded_by: UUID | str, declared_on: Day | None,
        source: str, command_id: str | None = None,
    ) -> CommandResult:
        """Records many measures at once (a member's purchase file): all of them, or none.

        Each row has indicator_key, member_id (None for the groupement), period_start, period_end and a
        value or an assessment. A refused row is named in the error's field (rows[i].…)."""
        attempts = 0

        def decide(plan: ProgressPlan, groupement: Groupement,
                   marche: Marche) -> tuple[tuple[UUID, list[Measure]], list[UUID]]:
            by = _uuid(recorded_by, "recorded_by")
            on = parse_date(declared_on, "declared_on") if declared_on is not None else None
            measures: dict[UUID, Measure] = {}
            roster = self.roster(groupement, marche)
            for index, row in enumerate(rows):
                try:
                    measure = self._import_row(plan, groupement, marche, row, by, on, source, roster)
                except DomainError as error:
                    error.field = f"rows[{index}].{error.field}" if error.field else f"rows[{index}]"
                    raise
                if measure.id in measures:
                    raise MeasureAlreadyRecorded(f"rows[{index}].period")
                measures[measure.id] = measure
            # Looked up with the context: on PostgreSQL in the guarded save (under the lock, with the insert: none
            # written and no log position taken if one exists); elsewhere the first attempt lets the store's unique
            # key find a duplicate, and the retry after that conflict looks the rows up to name the one recorded.
            lookup = attempts > 1 or self.guards_saves
            return (plan.id, list(measures.values())), list(measures) if lookup else []

        def action() -> Any:
            nonlocal attempts
            attempts += 1
            context = functools.partial(self.cached_plan_context, plan_id)
            (plan_uuid, measures), found = self.decide_on_current(context, decide)
            for index, measure in enumerate(measures):
                if measure.id in found:
                    raise MeasureAlreadyRecorded(f"rows[{index}].period")
            return plan_uuid, measures
        return self.execute("import_measures", command_id, action)

    def _import_row(self, plan: ProgressPlan, groupement: Groupement, marche: Marche, row: dict[str, Any],
                    by: UUID, on: date | None, source: str, roster: Roster) -> Measure:
        member = _uuid(row["member_id"], "member_id") if row.get("member_id") else None
        period = Period.parse(str(row.get("period_start")), str(row.get("period_end")))
        return Measure.record(
            plan, groupement, marche, indicator_key=str(row.get("indicator_key")), member_id=member, period=period,
            value=row.get("value"), assessment=row.get("assessment"), source=source, recorded_by=by,
            today=self.today(), declared_on=on, evidence=None, roster=roster,
        )

    def correct_measure(
        self, measure_id_: UUID | str, reason: str, corrected_by: UUID | str, corrected_on: Day,
        value: Any = None, assessment: str | None = None, evidence: Doc = None, command_id: str | None = None,
    ) -> CommandResult:
        def action() -> Any:
            measure = self.measure(measure_id_)
            plan, groupement, marche = self.plan_context(measure.plan_id)
            measure.correct(plan, groupement, marche, value=value, assessment=assessment, reason=reason,
                            corrected_by=_uuid(corrected_by, "corrected_by"),
                            corrected_on=parse_date(corrected_on, "corrected_on"), today=self.today(),
                            evidence=_doc(evidence))
            return measure.id, [measure]
        return self.execute("correct_measure", command_id, action)

    # Proposals, reviews and decisions
    def submit_proposal(
        self, plan_id: UUID | str, author_id: UUID | str, axis_key: str, kind: str, title: str, content: str,
        expected_impact: str, submitted_on: Day, expected_gain: Any = None, command_id: str | None = None,
    ) -> CommandResult:
        proposal_id = self.new_id("proposal", command_id)

        def action() -> Any:
            plan, groupement, marche = self.plan_context(plan_id)
            proposal = Proposal.submit(
                proposal_id, plan, groupement, marche, author_id=_uuid(author_id, "author_id"), axis_key=axis_key,
                kind=kind, title=title, content=content, expected_impact=expected_impact,
                expected_gain=expected_gain, submitted_on=parse_date(submitted_on, "submitted_on"),
            )
            return proposal.id, [proposal]
        return self.execute("submit_proposal", command_id, action)

    def withdraw_proposal(self, proposal_id: UUID | str, by: UUID | str, on: Day, reason: str,
                          command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            proposal = self.proposal(proposal_id)
            proposal.withdraw(_uuid(by, "by"), parse_date(on, "on"), reason)
            return proposal.id, [proposal]
        return self.execute("withdraw_proposal", command_id, action)

    def schedule_review(self, plan_id: UUID | str, title: str, scheduled_on: Day,
                        command_id: str | None = None) -> CommandResult:
        review_id = self.new_id("review", command_id)

        def action() -> Any:
            review = Review.schedule(review_id, self.plan(plan_id), title, parse_date(scheduled_on, "scheduled_on"))
            return review.id, [review]
        return self.execute("schedule_review", command_id, action)

    def hold_review(self, review_id: UUID | str, held_on: Day, participants: list[dict[str, Any]],
                    minutes: Doc = None, command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            review = self.review(review_id)
            plan, groupement, marche = self.plan_context(review.plan_id)
            plan.check_open()
            people = participants if isinstance(participants, list) else []
            self.check_parties(groupement, marche, [p.get("organisation_id") for p in people if isinstance(p, dict)],
                               "participants")
            review.hold(parse_date(held_on, "held_on"), participants, _doc(minutes))
            return review.id, [review]
        return self.execute("hold_review", command_id, action)

    def raise_point(self, review_id: UUID | str, kind: str, text: str, raised_by: dict[str, Any],
                    command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            review = self.review(review_id)
            if isinstance(raised_by, dict) and raised_by.get("organisation_id"):
                _, groupement, marche = self.plan_context(review.plan_id)
                self.check_parties(groupement, marche, [raised_by["organisation_id"]], "raised_by.organisation_id")
            review.raise_point(kind, text, raised_by)
            return review.id, [review]
        return self.execute("raise_point", command_id, action)

    def decide(self, review_id: UUID | str, proposal_id: UUID | str, outcome: str, reasons: str,
               command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            review = self.review(review_id)
            proposal = self.proposal_of(proposal_id, review.groupement_id)
            self.plan(review.plan_id).check_open()
            review.decide(proposal, outcome, reasons)
            return proposal.id, [review, proposal]
        return self.execute("decide", command_id, action)

    def close_review(self, review_id: UUID | str, on: Day, command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            review = self.review(review_id)
            review.close(parse_date(on, "on"))
            return review.id, [review]
        return self.execute("close_review", command_id, action)

    # Avenants
    def propose_avenant(
        self, marche_id: UUID | str, basis: str, reason: str, changes: dict[str, Any],
        proposal_id: UUID | str | None = None, on: Day | None = None, command_id: str | None = None,
    ) -> CommandResult:
        """Proposes an avenant dated `on` (today when not given): its date chooses the European threshold."""
        day = parse_date(on, "on") if on is not None else self.today()

        def action() -> Any:
            marche = self.marche(marche_id)
            reading = self.groupement(marche.groupement_id).small_modifications_reading
            decision, outcome = None, None
            if proposal_id is not None:
                proposal = self.proposal_of(proposal_id, marche.groupement_id)
                if proposal.plan_id != ProgressPlan.create_id(marche.id):
                    raise ProposalOfAnotherPlan("proposal_id")
                outcome = proposal.status
                last = proposal.decisions[-1] if proposal.decisions else {}
                decision = {"proposal_id": str(proposal.id), "review_id": str(last.get("review_id", ""))}
            titulaires = changes.get("titulaire_ids")
            new_titulaires = [self.organisation(t) for t in titulaires] if titulaires is not None else None
            number = marche.propose_avenant(basis, reason, changes, decision, outcome, new_titulaires, day, reading)
            return f"{marche.id}#{number}", [marche]
        return self.execute("propose_avenant", command_id, action)

    def sign_avenant(self, marche_id: UUID | str, number: int, signed_on: Day, document: Doc = None,
                     command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            marche = self.marche(marche_id)
            marche.sign_avenant(number, parse_date(signed_on, "signed_on"), _doc(document))
            return f"{marche.id}#{number}", [marche]
        return self.execute("sign_avenant", command_id, action)

    def record_cao_opinion(self, marche_id: UUID | str, number: int, given_on: Day, favourable: bool,
                           document: Doc = None, command_id: str | None = None) -> CommandResult:
        """Records the CAO's opinion on an avenant raising the amount by more than 5 % (L1414-4 CGCT)."""
        def action() -> Any:
            marche = self.marche(marche_id)
            marche.record_cao_opinion(number, parse_date(given_on, "given_on"), favourable, _doc(document))
            return f"{marche.id}#{number}", [marche]
        return self.execute("record_cao_opinion", command_id, action)

    def notify_avenant(self, marche_id: UUID | str, number: int, notified_on: Day,
                       command_id: str | None = None) -> CommandResult:
        """Notifies an avenant; plan changes it carries (a new axis) enter the plan in the same transaction."""
        def action() -> Any:
            marche = self.marche(marche_id)
            avenant = marche.notify_avenant(number, parse_date(notified_on, "notified_on"))
            changed: list[Any] = [marche]
            if avenant.changes.plan_changes:
                plan = self.plan(ProgressPlan.create_id(marche.id))
                for change in avenant.changes.plan_changes:
                    plan.add_axis(change["key"], change["title"], change.get("description", ""), number)
                changed.append(plan)
            return f"{marche.id}#{number}", changed
        return self.execute("notify_avenant", command_id, action)

    def abandon_avenant(self, marche_id: UUID | str, number: int, reason: str,
                        command_id: str | None = None) -> CommandResult:
        def action() -> Any:
            marche = self.marche(marche_id)
            marche.abandon_avenant(number, reason)
            return f"{marche.id}#{number}", [marche]
        return self.execute("abandon_avenant", command_id, action)

    # Reading (until the read models of projections/ serve these)
    def list_groupements(self) -> list[Groupement]:
        ids = [n.originator_id for n in self.iter_notifications() if n.topic.endswith("Groupement.Constituted")]
        return [self.groupement(i) for i in ids]

    def history(self, aggregate_id: UUID | str) -> list[dict[str, Any]]:
        events = list(self.events.get(_uuid(aggregate_id, "aggregate_id")))
        if not events:
            raise InvalidInput("aggregate_id", rule=f"aucun événement pour {aggregate_id}")
        return [
            {"version": e.originator_version, "timestamp": e.timestamp.isoformat(timespec="seconds"),
             "type": type(e).__qualname__,
             "details": ", ".join(f"{k}={v}" for k, v in vars(e).items()
                                  if k not in ("originator_id", "originator_version", "timestamp",
                                               "originator_topic"))[:300]}
            for e in events
        ]

    # Purchase files (ma cantine format) and EGalim shares: services/purchase_import.py
    def import_purchases(
        self, plan_id: UUID | str, member_id: UUID | str, content: str, filename: str, imported_by: UUID | str,
        imported_on: Day, feeds: dict[str, Any] | None = None, command_id: str | None = None,
    ) -> CommandResult:
        """Imports a member's ma cantine purchase file (base64) and feeds the plan's indicators with its shares.

        feeds maps indicator keys to the figures of projections/egalim.py (e.g. {"egalim_share": "part_egalim"})."""
        from progres.services.purchase_import import decode_content, import_purchases  # noqa: PLC0415

        return import_purchases(self, plan_id, member_id, decode_content(content), filename, imported_by,
                                imported_on, feeds, command_id)
