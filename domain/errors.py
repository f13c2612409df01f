"""Named domain errors: each has a stable code, the field it concerns and a message a person can act on.

User-facing message templates live here and nowhere else, so that they can be translated in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

QUOTED_PREFIX = 60
COMPOSED = ("rule", "summary")


def _shorten(value: Any) -> Any:
    text = value if isinstance(value, str) else None
    return text[:QUOTED_PREFIX] + "…" if text is not None and len(text) > QUOTED_PREFIX else value


class DomainError(Exception):
    """A command was refused by a rule of the domain; nothing was written."""

    code: ClassVar[str] = "domain_error"
    template: ClassVar[str] = "the command was refused"
    field: str | None

    def __init__(self, field: str | None = None, **details: Any) -> None:
        self.field = field
        self.details = details
        super().__init__(self.message)

    @property
    def message(self) -> str:
        # A message quotes what the client sent (an id, a SIRET): never more than a short prefix of it.
        # A `rule` or `summary` is the domain's own sentence (it quotes values itself, briefly): kept whole.
        text = self.template.format(**{k: v if k in COMPOSED else _shorten(v) for k, v in self.details.items()})
        return f"{self.field}: {text}" if self.field else text

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


def _error(name: str, code: str, template: str, base: type[DomainError] = DomainError) -> type[DomainError]:
    return type(name, (base,), {"code": code, "template": template, "__doc__": template})


class InvalidInput(DomainError):
    """A value does not respect its format or range."""

    code = "invalid_input"
    template = "{rule}"


class NotFound(DomainError):
    code = "not_found"
    template = "no {kind} with id {id}"


class AlreadyExists(DomainError):
    code = "already_exists"
    template = "{kind} {id} already exists"


# Organisations and values
InvalidSiret = _error("InvalidSiret", "invalid_siret", "'{value}' is not a valid SIRET: {rule}")
InvalidEuIdentifier = _error(
    "InvalidEuIdentifier", "invalid_eu_identifier",
    "'{value}' is not the VAT number of a buyer of another EU state: {rule}",
)
IdentifierDoesNotFitKind = _error("IdentifierDoesNotFitKind", "identifier_does_not_fit_kind", "{rule}")
OrganisationNotFound = _error(
    "OrganisationNotFound", "organisation_not_found", "no organisation with id {id}", NotFound
)
OrganisationAlreadyRegistered = _error(
    "OrganisationAlreadyRegistered", "organisation_already_registered",
    "an organisation with SIRET {siret} is already registered", AlreadyExists,
)

# Groupements
GroupementNotFound = _error("GroupementNotFound", "groupement_not_found", "no groupement with id {id}", NotFound)
GroupementAlreadyExists = _error(
    "GroupementAlreadyExists", "groupement_already_exists", "groupement {id} already exists", AlreadyExists
)
CoordonnateurMustBeBuyer = _error(
    "CoordonnateurMustBeBuyer", "coordonnateur_must_be_buyer",
    "the coordonnateur must be an acheteur (collectivité, EPLE, State service, hospital, établissement public), "
    "not a {kind}",
)
CoordonnateurMustBeFrench = _error(
    "CoordonnateurMustBeFrench", "coordonnateur_must_be_french",
    "the coordonnateur runs the procedures under the French code here (L2113-8): it must be a French acheteur "
    "known by its SIRET, not a buyer of another EU state",
)
MemberMustBeBuyer = _error(
    "MemberMustBeBuyer", "member_must_be_buyer",
    "a member must be an acheteur (collectivité, EPLE, State service, hospital, établissement public, or a buyer "
    "of another EU state under L2113-8), not a {kind}",
)
ConventionRequired = _error(
    "ConventionRequired", "convention_required",
    "a groupement is constituted by its convention constitutive (CCP L2113-6): give the signed convention as a "
    "document (SHA-256, name, media type)",
)
AdhesionDecisionRequired = _error(
    "AdhesionDecisionRequired", "adhesion_decision_required",
    "admitting a member needs its délibération or décision d'adhésion (CCP L2113-6, L2113-7) as a document "
    "(SHA-256, name, media type) and its date",
)
AdhesionDecidedAfterJoining = _error(
    "AdhesionDecidedAfterJoining", "adhesion_decided_after_joining",
    "the adhesion was decided on {decided} but would take effect on {on}, before it was decided",
)
AlreadyMember = _error("AlreadyMember", "already_member", "organisation {org} is already an active member")
NotAMember = _error("NotAMember", "not_a_member", "organisation {org} is not an active member on {on}")
CoordonnateurCannotLeave = _error(
    "CoordonnateurCannotLeave", "coordonnateur_cannot_leave",
    "the coordonnateur cannot leave the groupement it coordinates",
)
DateBeforeMembership = _error(
    "DateBeforeMembership", "date_before_membership", "leaving on {on} is before joining on {joined}"
)
DateBeforeConvention = _error(
    "DateBeforeConvention", "date_before_convention", "{on} is before the convention was signed on {signed}"
)
AuditorMustBeAuditBody = _error(
    "AuditorMustBeAuditBody", "auditor_must_be_audit_body", "an auditor must be an audit body, not a {kind}"
)
AlreadyAssigned = _error("AlreadyAssigned", "already_assigned", "organisation {org} is already assigned")
InactiveMember = _error(
    "InactiveMember", "inactive_member", "organisation {org} is not an active member of the groupement during {when}"
)

# Marchés
MarcheNotFound = _error("MarcheNotFound", "marche_not_found", "no marché with id {id}", NotFound)
MarcheAlreadyNotified = _error(
    "MarcheAlreadyNotified", "marche_already_notified", "marché {id} is already notified", AlreadyExists
)
MarcheClosed = _error("MarcheClosed", "marche_closed", "marché {id} is closed: it can only be read")
TitulaireMustBeSupplier = _error(
    "TitulaireMustBeSupplier", "titulaire_must_be_supplier", "a titulaire must be a supplier, not a {kind}"
)
LaunchAfterNotification = _error("LaunchAfterNotification", "launch_after_notification", "{rule}")
NotAPartyToMarche = _error(
    "NotAPartyToMarche", "not_a_party_to_marche",
    "organisation {org} was not a member when marché {marche} was launched on {launched}: it is not a party "
    "to it (the parties of a marché are fixed at its launch, QE 100136 of 2011)",
)
WithdrawnFromMarche = _error(
    "WithdrawnFromMarche", "withdrawn_from_marche",
    "organisation {org} left the groupement on {left} and its convention ends a leaving member's part in the "
    "marchés under way at withdrawal (clause ends_at_withdrawal): nothing for {when}",
    InactiveMember,  # a refinement of it: no longer an active party for that period
)
CloseBeforeNotification = _error(
    "CloseBeforeNotification", "close_before_notification", "closing on {on} is before notification on {notified}"
)

# Plans
PlanNotFound = _error("PlanNotFound", "plan_not_found", "no plan de progrès with id {id}", NotFound)
PlanAlreadyExists = _error(
    "PlanAlreadyExists", "plan_already_exists", "marché {marche} already has a plan de progrès", AlreadyExists
)
PlanClosed = _error(
    "PlanClosed", "plan_closed", "the plan de progrès is closed by its bilan final: it can only be read"
)
UnknownAxis = _error("UnknownAxis", "unknown_axis", "no axis {id} in this plan")
UnknownObjective = _error("UnknownObjective", "unknown_objective", "no objective {id} in this plan")
UnknownIndicator = _error("UnknownIndicator", "unknown_indicator", "no indicator {id} in this plan")
UnknownAction = _error("UnknownAction", "unknown_action", "no action {id} in this plan")
DuplicateKey = _error("DuplicateKey", "duplicate_key", "{kind} {key} already exists in this plan")
InvalidIndicator = _error("InvalidIndicator", "invalid_indicator", "{rule}")
InvalidActionTransition = _error(
    "InvalidActionTransition", "invalid_action_transition", "an action cannot go from {current} to {new}"
)
InvalidGainSharing = _error("InvalidGainSharing", "invalid_gain_sharing", "{rule}")

# Measures
MeasureNotFound = _error("MeasureNotFound", "measure_not_found", "no measure with id {id}", NotFound)
MeasureAlreadyRecorded = _error(
    "MeasureAlreadyRecorded", "measure_already_recorded",
    "a measure of this indicator for this member and period is already recorded: correct it instead",
)
WrongValueKind = _error("WrongValueKind", "wrong_value_kind", "{rule}")
PeriodOutsideMarche = _error(
    "PeriodOutsideMarche", "period_outside_marche", "period {period} is outside the marché ({start} to {end})"
)
PeriodNotCalendar = _error(
    "PeriodNotCalendar", "period_not_calendar",
    "indicator {key} is measured {periodicity}: give a calendar period such as {example}, or its part within the "
    "marché (from the notification, or to the end)",
)
DeclaredDateInFuture = _error(
    "DeclaredDateInFuture", "declared_date_in_future",
    "the declared date {declared} is after today ({today}): the platform records the time itself",
)
WrongScope = _error("WrongScope", "wrong_scope", "{rule}")
UnchangedCorrection = _error(
    "UnchangedCorrection", "unchanged_correction", "the correction gives the value already recorded"
)

# Proposals
ProposalNotFound = _error("ProposalNotFound", "proposal_not_found", "no proposition with id {id}", NotFound)
NotEntitled = _error("NotEntitled", "not_entitled", "organisation {org} is neither an active member nor the titulaire")
ProposalNotPending = _error(
    "ProposalNotPending", "proposal_not_pending", "the proposition is {status}: it can no longer be {action}"
)

# Reviews and decisions
ReviewNotFound = _error("ReviewNotFound", "review_not_found", "no revue with id {id}", NotFound)
ReviewNotHeld = _error(
    "ReviewNotHeld", "review_not_held", "the revue is {status}: it must be held (and not closed) to {action}"
)
ReviewAlreadyHeld = _error("ReviewAlreadyHeld", "review_already_held", "the revue is already {status}")
ProposalOfAnotherPlan = _error(
    "ProposalOfAnotherPlan", "proposal_of_another_plan", "the proposition belongs to another plan"
)
AlreadyDecidedInReview = _error(
    "AlreadyDecidedInReview", "already_decided_in_review", "this revue already decided on proposition {id}"
)

# Avenants
AvenantNotFound = _error("AvenantNotFound", "avenant_not_found", "no avenant number {number} on this marché", NotFound)
AvenantWrongState = _error("AvenantWrongState", "avenant_wrong_state", "avenant {number} is {status}: cannot {action}")
AvenantCapExceeded = _error(
    "AvenantCapExceeded", "avenant_cap_exceeded",
    "{basis} allows at most {cap} % of the initial amount ({scope}); this avenant would reach {reached} %",
)
AvenantBasisNotAllowed = _error("AvenantBasisNotAllowed", "avenant_basis_not_allowed", "{rule}")
DecisionNotAccepted = _error(
    "DecisionNotAccepted", "decision_not_accepted",
    "an avenant that follows the plan must follow an accepted proposition; this one is {status}",
)
EmptyAvenant = _error("EmptyAvenant", "empty_avenant", "an avenant must change something")
ThresholdUnknown = _error(
    "ThresholdUnknown", "eu_threshold_unknown",
    "no European threshold is known for {on} (the table covers {known}): complete domain/thresholds.py",
)
# L1414-4 CGCT: the CAO's opinion comes before the signature of an avenant raising the amount by more than 5 %.
CaoOpinionMissing = _error(
    "CaoOpinionMissing", "cao_opinion_missing",
    "avenant {number} raises the amount by more than 5 % of a marché the CAO awarded: record the CAO's opinion "
    "before signing it (L1414-4 CGCT)",
)
CaoOpinionNotExpected = _error("CaoOpinionNotExpected", "cao_opinion_not_expected", "{rule}")
CaoOpinionAlreadyRecorded = _error(
    "CaoOpinionAlreadyRecorded", "cao_opinion_already_recorded",
    "the CAO already gave its opinion on avenant {number} on {on}",
)
SignedBeforeCaoOpinion = _error(
    "SignedBeforeCaoOpinion", "signed_before_cao_opinion",
    "the CAO gave its opinion on {opinion_on}: the avenant cannot be signed before, on {signed_on}",
)
# DECP particulars: checked against the code lists and ranges of the official schema (DECP 2.0.3).
InvalidParticular = _error("InvalidParticular", "invalid_particular", "{rule}")

# Services
ConcurrencyConflict = _error(
    "ConcurrencyConflict", "concurrency_conflict",
    "the command met concurrent changes {attempts} times in a row; try again",
)

# References: an organisation a command names must take part in the groupement (members ever admitted,
# the coordonnateur, the marché's titulaires, auditors).
NotAParty = _error("NotAParty", "not_a_party", "organisation {org} takes no part in this groupement")
