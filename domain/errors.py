"""Named domain errors: each has a stable code, the field it concerns and a message a person can act on.

User-facing message templates live here and nowhere else, so that they can be translated in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

QUOTED_PREFIX = 60
COMPOSED = ("rule", "summary", "scope")


def _shorten(value: Any) -> Any:
    text = value if isinstance(value, str) else None
    return text[:QUOTED_PREFIX] + "…" if text is not None and len(text) > QUOTED_PREFIX else value


class DomainError(Exception):
    """A command was refused by a rule of the domain; nothing was written."""

    code: ClassVar[str] = "domain_error"
    template: ClassVar[str] = "la commande est refusée"
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
    template = "{kind} introuvable : {id}"


class AlreadyExists(DomainError):
    code = "already_exists"
    template = "{kind} {id} existe déjà"


# Organisations and values
InvalidSiret = _error("InvalidSiret", "invalid_siret", "« {value} » n'est pas un SIRET valide : {rule}")
InvalidEuIdentifier = _error(
    "InvalidEuIdentifier", "invalid_eu_identifier",
    "« {value} » n'est pas le numéro de TVA d'un acheteur d'un autre État de l'UE : {rule}",
)
IdentifierDoesNotFitKind = _error("IdentifierDoesNotFitKind", "identifier_does_not_fit_kind", "{rule}")
OrganisationNotFound = _error(
    "OrganisationNotFound", "organisation_not_found", "aucune organisation avec l'identifiant {id}", NotFound
)
OrganisationAlreadyRegistered = _error(
    "OrganisationAlreadyRegistered", "organisation_already_registered",
    "une organisation de SIRET {siret} est déjà enregistrée", AlreadyExists,
)

# Groupements
GroupementNotFound = _error("GroupementNotFound", "groupement_not_found", "aucun groupement avec l'identifiant "
                                                                          "{id}", NotFound)
GroupementAlreadyExists = _error(
    "GroupementAlreadyExists", "groupement_already_exists", "le groupement {id} existe déjà", AlreadyExists
)
CoordonnateurMustBeBuyer = _error(
    "CoordonnateurMustBeBuyer", "coordonnateur_must_be_buyer",
    "le coordonnateur doit être un acheteur (collectivité, EPLE, service de l'État, hôpital, "
    "établissement public), pas : {kind}",
)
CoordonnateurMustBeFrench = _error(
    "CoordonnateurMustBeFrench", "coordonnateur_must_be_french",
    "le coordonnateur conduit les procédures selon le droit français (L2113-8) : ce doit être un acheteur "
    "français connu par son SIRET, pas un acheteur d'un autre État de l'UE",
)
MemberMustBeBuyer = _error(
    "MemberMustBeBuyer", "member_must_be_buyer",
    "un membre doit être un acheteur (collectivité, EPLE, service de l'État, hôpital, établissement public, ou "
    "acheteur d'un autre État de l'UE au titre de L2113-8), pas : {kind}",
)
ConventionRequired = _error(
    "ConventionRequired", "convention_required",
    "un groupement est constitué par sa convention constitutive (CCP L2113-6) : donnez la convention signée "
    "comme document (SHA-256, nom, type de média)",
)
AdhesionDecisionRequired = _error(
    "AdhesionDecisionRequired", "adhesion_decision_required",
    "l'admission d'un membre demande sa délibération ou décision d'adhésion (CCP L2113-6, L2113-7) comme "
    "document (SHA-256, nom, type de média) et sa date",
)
AdhesionDecidedAfterJoining = _error(
    "AdhesionDecidedAfterJoining", "adhesion_decided_after_joining",
    "l'adhésion a été décidée le {decided} mais prendrait effet le {on}, avant d'avoir été décidée",
)
AlreadyMember = _error("AlreadyMember", "already_member", "l'organisation {org} est déjà membre actif")
NotAMember = _error("NotAMember", "not_a_member", "l'organisation {org} n'est pas membre actif le {on}")
CoordonnateurCannotLeave = _error(
    "CoordonnateurCannotLeave", "coordonnateur_cannot_leave",
    "le coordonnateur ne peut pas quitter le groupement qu'il coordonne",
)
DateBeforeMembership = _error(
    "DateBeforeMembership", "date_before_membership", "un retrait le {on} précède l'adhésion du {joined}"
)
DateBeforeConvention = _error(
    "DateBeforeConvention", "date_before_convention", "le {on} précède la signature de la convention, le {signed}"
)
AuditorMustBeAuditBody = _error(
    "AuditorMustBeAuditBody", "auditor_must_be_audit_body", "un auditeur doit être un organe de contrôle, pas : {kind}"
)
AlreadyAssigned = _error("AlreadyAssigned", "already_assigned", "l'organisation {org} est déjà désignée")
InactiveMember = _error(
    "InactiveMember", "inactive_member", "l'organisation {org} n'est pas membre actif du groupement pendant {when}"
)

# Marchés
MarcheNotFound = _error("MarcheNotFound", "marche_not_found", "aucun marché avec l'identifiant {id}", NotFound)
MarcheAlreadyNotified = _error(
    "MarcheAlreadyNotified", "marche_already_notified", "le marché {id} est déjà notifié", AlreadyExists
)
MarcheClosed = _error("MarcheClosed", "marche_closed", "le marché {id} est clos : il ne peut plus qu'être consulté")
TitulaireMustBeSupplier = _error(
    "TitulaireMustBeSupplier", "titulaire_must_be_supplier", "un titulaire doit être un fournisseur, pas : {kind}"
)
LaunchAfterNotification = _error("LaunchAfterNotification", "launch_after_notification", "{rule}")
NotAPartyToMarche = _error(
    "NotAPartyToMarche", "not_a_party_to_marche",
    "l'organisation {org} n'était pas membre au lancement du marché {marche}, le {launched} : elle n'y est pas "
    "partie (les parties d'un marché sont fixées à son lancement, QE 100136 de 2011)",
)
WithdrawnFromMarche = _error(
    "WithdrawnFromMarche", "withdrawn_from_marche",
    "l'organisation {org} a quitté le groupement le {left} et la convention met fin à la part d'un membre "
    "sortant dans les marchés en cours à son retrait (clause ends_at_withdrawal) : rien pour {when}",
    InactiveMember,  # a refinement of it: no longer an active party for that period
)
CloseBeforeNotification = _error(
    "CloseBeforeNotification", "close_before_notification", "une clôture le {on} précède la notification du {notified}"
)

# Plans
PlanNotFound = _error("PlanNotFound", "plan_not_found", "aucun plan de progrès avec l'identifiant {id}", NotFound)
PlanAlreadyExists = _error(
    "PlanAlreadyExists", "plan_already_exists", "le marché {marche} a déjà un plan de progrès", AlreadyExists
)
PlanClosed = _error(
    "PlanClosed", "plan_closed", "le plan de progrès est clos par son bilan final : il ne peut plus qu'être consulté"
)
UnknownAxis = _error("UnknownAxis", "unknown_axis", "aucun axe {id} dans ce plan")
UnknownObjective = _error("UnknownObjective", "unknown_objective", "aucun objectif {id} dans ce plan")
UnknownIndicator = _error("UnknownIndicator", "unknown_indicator", "aucun indicateur {id} dans ce plan")
UnknownAction = _error("UnknownAction", "unknown_action", "aucune action {id} dans ce plan")
DuplicateKey = _error("DuplicateKey", "duplicate_key", "{kind} {key} existe déjà dans ce plan")
InvalidIndicator = _error("InvalidIndicator", "invalid_indicator", "{rule}")
InvalidActionTransition = _error(
    "InvalidActionTransition", "invalid_action_transition", "une action ne peut pas passer de {current} à {new}"
)
InvalidGainSharing = _error("InvalidGainSharing", "invalid_gain_sharing", "{rule}")

# Measures
MeasureNotFound = _error("MeasureNotFound", "measure_not_found", "aucune mesure avec l'identifiant {id}", NotFound)
MeasureAlreadyRecorded = _error(
    "MeasureAlreadyRecorded", "measure_already_recorded",
    "une mesure de cet indicateur pour ce membre et cette période est déjà enregistrée : corrigez-la plutôt",
)
WrongValueKind = _error("WrongValueKind", "wrong_value_kind", "{rule}")
PeriodOutsideMarche = _error(
    "PeriodOutsideMarche", "period_outside_marche", "la période {period} sort du marché (du {start} au {end})"
)
PeriodNotCalendar = _error(
    "PeriodNotCalendar", "period_not_calendar",
    "l'indicateur {key} se mesure par période {periodicity} : donnez une période calendaire comme {example}, "
    "ou sa partie comprise dans le marché (depuis la notification, ou jusqu'à la fin)",
)
DeclaredDateInFuture = _error(
    "DeclaredDateInFuture", "declared_date_in_future",
    "la date déclarée {declared} est postérieure à aujourd'hui ({today}) : la plateforme enregistre l'heure elle-même",
)
WrongScope = _error("WrongScope", "wrong_scope", "{rule}")
UnchangedCorrection = _error(
    "UnchangedCorrection", "unchanged_correction", "la correction donne la valeur déjà enregistrée"
)

# Proposals
ProposalNotFound = _error("ProposalNotFound", "proposal_not_found", "aucune proposition avec l'identifiant "
                                                                    "{id}", NotFound)
NotEntitled = _error("NotEntitled", "not_entitled", "l'organisation {org} n'est ni membre actif ni titulaire")
ProposalNotPending = _error(
    "ProposalNotPending", "proposal_not_pending", "la proposition est à l'état {status} : elle ne peut plus être "
                                                  "{action}"
)

# Reviews and decisions
ReviewNotFound = _error("ReviewNotFound", "review_not_found", "aucune revue avec l'identifiant {id}", NotFound)
ReviewNotHeld = _error(
    "ReviewNotHeld", "review_not_held", "la revue est à l'état {status} : elle doit être tenue (et non close) pour "
                                        "{action}"
)
ReviewAlreadyHeld = _error("ReviewAlreadyHeld", "review_already_held", "la revue est déjà à l'état {status}")
ProposalOfAnotherPlan = _error(
    "ProposalOfAnotherPlan", "proposal_of_another_plan", "la proposition appartient à un autre plan"
)
AlreadyDecidedInReview = _error(
    "AlreadyDecidedInReview", "already_decided_in_review", "cette revue a déjà statué sur la proposition {id}"
)

# Avenants
AvenantNotFound = _error("AvenantNotFound", "avenant_not_found", "aucun avenant n° {number} sur ce marché", NotFound)
AvenantWrongState = _error("AvenantWrongState", "avenant_wrong_state", "l'avenant n° {number} est à l'état {status} "
                                                                       ": impossible de {action}")
AvenantCapExceeded = _error(
    "AvenantCapExceeded", "avenant_cap_exceeded",
    "{basis} permet au plus {cap} % du montant initial ({scope}) ; cet avenant atteindrait {reached} %",
)
AvenantBasisNotAllowed = _error("AvenantBasisNotAllowed", "avenant_basis_not_allowed", "{rule}")
DecisionNotAccepted = _error(
    "DecisionNotAccepted", "decision_not_accepted",
    "un avenant issu du plan doit suivre une proposition acceptée ; celle-ci est à l'état {status}",
)
EmptyAvenant = _error("EmptyAvenant", "empty_avenant", "un avenant doit modifier quelque chose")
ThresholdUnknown = _error(
    "ThresholdUnknown", "eu_threshold_unknown",
    "aucun seuil européen n'est connu pour le {on} (la table couvre {known}) : complétez domain/thresholds.py",
)
# L1414-4 CGCT: the CAO's opinion comes before the signature of an avenant raising the amount by more than 5 %.
CaoOpinionMissing = _error(
    "CaoOpinionMissing", "cao_opinion_missing",
    "l'avenant n° {number} augmente de plus de 5 % le montant d'un marché attribué par la CAO : enregistrez "
    "l'avis de la CAO avant de le signer (L1414-4 CGCT)",
)
CaoOpinionNotExpected = _error("CaoOpinionNotExpected", "cao_opinion_not_expected", "{rule}")
CaoOpinionAlreadyRecorded = _error(
    "CaoOpinionAlreadyRecorded", "cao_opinion_already_recorded",
    "la CAO a déjà rendu son avis sur l'avenant n° {number}, le {on}",
)
SignedBeforeCaoOpinion = _error(
    "SignedBeforeCaoOpinion", "signed_before_cao_opinion",
    "la CAO a rendu son avis le {opinion_on} : l'avenant ne peut pas être signé avant, le {signed_on}",
)
# DECP particulars: checked against the code lists and ranges of the official schema (DECP 2.0.3).
InvalidParticular = _error("InvalidParticular", "invalid_particular", "{rule}")

# Services
ConcurrencyConflict = _error(
    "ConcurrencyConflict", "concurrency_conflict",
    "la commande a rencontré des modifications concurrentes {attempts} fois de suite ; réessayez",
)

# References: an organisation a command names must take part in the groupement (members ever admitted,
# the coordonnateur, the marché's titulaires, auditors).
NotAParty = _error("NotAParty", "not_a_party", "l'organisation {org} ne prend pas part à ce groupement")
