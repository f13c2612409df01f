"""Every French text of the console a person reads, in one place (as services/cli_support.py keeps the CLI's)."""

from __future__ import annotations

ROLE_NAMES = {
    "coordonnateur": "coordonnateur",
    "acheteur": "acheteur (membre)",
    "titulaire": "titulaire",
    "auditeur": "auditeur",
    "admin": "administrateur de la plateforme",
}

KIND_NAMES = {
    "collectivite": "collectivité",
    "eple": "établissement (EPLE)",
    "supplier": "fournisseur",
    "audit_body": "organisme de contrôle",
}

# Which roles an organisation of each kind may take in the local identity mode's sign-in page.
ROLES_OF_KIND = {
    "collectivite": ("coordonnateur", "acheteur"),
    "eple": ("acheteur",),
    "supplier": ("titulaire",),
    "audit_body": ("auditeur",),
}

OBJECTIVE_KINDS = {"moyens": "obligation de moyens", "resultats": "obligation de résultats"}
INDICATOR_SCOPES = {"member": "par membre", "groupement": "pour le groupement"}
DIRECTIONS = {"increase": "à la hausse", "decrease": "à la baisse"}
PERIODICITIES = {"semestrial": "semestrielle", "annual": "annuelle", "quarterly": "trimestrielle",
                 "monthly": "mensuelle"}
ACTION_OWNERS = {"titulaire": "titulaire", "acheteur": "acheteur", "joint": "conjointe"}
ACTION_STATUSES = {"planned": "prévue", "in_progress": "en cours", "done": "réalisée", "abandoned": "abandonnée",
                   "late": "en retard"}

PROPOSAL_KINDS = {"innovation": "innovation", "service_improvement": "amélioration du service",
                  "sur_qualite_reduction": "réduction de la sur-qualité"}
PROPOSAL_STATUSES = {"submitted": "soumise", "postponed": "reportée", "accepted": "acceptée", "rejected": "rejetée",
                     "withdrawn": "retirée"}
# What the auditors' timeline counts in the plan's state after each event: key, singular, plural.
STATE_COUNTS = (("axes", "axe", "axes"), ("objectives", "objectif", "objectifs"),
                ("indicators", "indicateur", "indicateurs"), ("measures", "mesure", "mesures"),
                ("corrections", "correction", "corrections"), ("actions", "action", "actions"),
                ("proposals", "proposition", "propositions"), ("reviews_held", "revue tenue", "revues tenues"),
                ("avenants_notified", "avenant notifié", "avenants notifiés"))

# The API's refusals of a command, by their stable code, as the console says them (the API's own messages are
# not all in French yet); an unknown code is shown with the API's message (`api_refusal`).
API_REFUSALS = {
    "measure_already_recorded": "Une mesure de cet indicateur est déjà enregistrée pour cette période : "
                                "corrigez-la plutôt que d'en saisir une nouvelle.",
    "period_outside_marche": "Cette période est en dehors de la durée du marché.",
    "period_not_calendar": "Cet indicateur se mesure par période calendaire (par exemple un semestre : du "
                           "01/01/2023 au 30/06/2023).",
    "declared_date_in_future": "La date de déclaration ne peut pas être dans le futur.",
    "wrong_value_kind": "Cet indicateur n'attend pas ce genre de valeur.",
    "wrong_scope": "Cet indicateur ne se mesure pas à ce niveau (membre ou groupement).",
    "inactive_member": "Votre organisation n'est pas membre actif du groupement à ces dates.",
    "plan_closed": "Le plan est clos par son bilan final : il ne peut plus qu'être lu.",
    "marche_closed": "Le marché est clos : il ne peut plus qu'être lu.",
    "unknown_indicator": "Cet indicateur n'existe pas dans ce plan.",
    "unknown_axis": "Cet axe n'existe pas dans ce plan.",
    "not_entitled": "Votre organisation n'est ni membre actif du groupement ni titulaire à cette date.",
    "forbidden": "Votre organisation n'a pas le droit de faire cela.",
    "invalid_input": "Valeur refusée : {message}",
}

# The log's event types, as the auditors' timeline names them (the type itself is shown beside, as recorded).
EVENT_NAMES = {
    "Organisation.Registered": "organisation enregistrée",
    "Groupement.Constituted": "groupement constitué",
    "Groupement.SmallModificationsReadingChosen": "lecture des petites modifications choisie",
    "Groupement.AuditorAssigned": "auditeur désigné",
    "Groupement.MemberJoined": "adhésion d'un membre",
    "Groupement.MemberLeft": "retrait d'un membre",
    "Marche.Notified": "marché notifié",
    "Marche.AvenantProposed": "avenant proposé",
    "Marche.CaoOpinionRecorded": "avis de la CAO enregistré",
    "Marche.ParticularsCorrected": "données du marché corrigées",
    "Marche.AvenantSigned": "avenant signé",
    "Marche.AvenantNotified": "avenant notifié",
    "Marche.AvenantAbandoned": "avenant abandonné",
    "Marche.Closed": "marché clos",
    "Measure.Recorded": "mesure enregistrée",
    "Measure.Corrected": "mesure corrigée",
    "ProgressPlan.DrawnUp": "plan dressé",
    "ProgressPlan.AxisAdded": "axe ajouté",
    "ProgressPlan.ObjectiveAdded": "objectif ajouté",
    "ProgressPlan.IndicatorDefined": "indicateur défini",
    "ProgressPlan.ActionPlanned": "action prévue",
    "ProgressPlan.ActionStatusChanged": "état d'une action changé",
    "ProgressPlan.ResourceCommitted": "moyen engagé",
    "ProgressPlan.MilestoneScheduled": "jalon du calendrier prévu",
    "ProgressPlan.GainSharingDefined": "partage des gains défini",
    "ProgressPlan.GovernanceDefined": "gouvernance définie",
    "ProgressPlan.PurchaseVolumeDeclared": "volume d'achats déclaré",
    "ProgressPlan.ClosedWithBilanFinal": "plan clos par son bilan final",
    "Proposal.Submitted": "proposition soumise",
    "Proposal.Withdrawn": "proposition retirée",
    "Proposal.Decided": "décision sur une proposition",
    "PurchaseImport.Imported": "achats importés",
    "PurchaseImport.LinesRecorded": "lignes d'achats enregistrées",
    "PurchaseRegister.Opened": "registre des achats ouvert",
    "PurchaseRegister.ImportAdded": "import d'achats ajouté au registre",
    "Review.Scheduled": "revue programmée",
    "Review.Held": "revue tenue",
    "Review.PointRaised": "point soulevé en revue",
    "Review.DecisionTaken": "décision prise en revue",
    "Review.Closed": "revue close",
}

PARTIES = {"titulaire": "titulaire", "acheteur": "acheteur", "joint": "conjointement", "membres": "membres"}
MEMBER_SPLITS = {"purchase_volume": "au prorata des volumes d'achats", "equal": "à parts égales"}
SETTLEMENTS = {"price_reduction": "baisse de prix", "rebate": "remise (ristourne)",
               "reinvestment": "réinvestissement dans le plan"}

MESSAGES = {
    "site": "progres · espace des membres",
    "skip": "Aller au contenu",
    "nav_label": "Navigation principale",
    "nav_home": "Mes groupements et plans",
    "signed_in_as": "Connecté : {organisation}, en tant que {role}",
    "sign_out": "Se déconnecter",
    "sign_in_title": "Se connecter",
    "sign_in_local_intro": "Mode d'identité locale (développement, sur cette machine seulement) : choisissez "
                           "l'organisation pour laquelle vous agissez et votre rôle.",
    "sign_in_organisation": "Organisation",
    "sign_in_role": "Rôle",
    "sign_in_button": "Se connecter",
    "sign_in_legend": "Organisation et rôle",
    "sign_in_choice_detail": "({kind}, SIRET {siret}) : {role}",
    "organisation_with_siret": "{name} (SIRET {siret})",
    "sign_in_as": "Se connecter : {organisation}, {role}",
    "sign_in_none": "Aucune organisation n'est encore enregistrée sur cette plateforme.",
    "sign_in_oidc_intro": "Connectez-vous avec votre compte de l'annuaire de la plateforme.",
    "sign_in_oidc_button": "Se connecter avec l'annuaire (Keycloak)",
    "choose_organisation_title": "Pour quelle organisation agissez-vous ?",
    "choose_organisation_intro": "Votre compte appartient à plusieurs organisations : choisissez celle pour "
                                 "laquelle vous agissez maintenant, et votre rôle.",
    "choose_button": "Continuer",
    "signed_out": "Vous êtes déconnecté.",
    "home_title": "Mes groupements et plans",
    "home_none": "Votre organisation ne fait partie d'aucun groupement visible.",
    "groupement_code": "Code",
    "coordonnateur": "Coordonnateur",
    "members": "Membres",
    "marche": "Marché {code}",
    "plan_link": "Arbre du plan : {title}",
    "dashboard_link": "Mon tableau de bord",
    "members_dashboards": "Tableaux de bord des membres ({count})",
    "record_link": "Saisir une mesure",
    "plan_closed": "Plan clos par son bilan final",
    "plan_title": "Plan de progrès : {title}",
    "means_title": "Moyens, calendrier, partage des gains et gouvernance",
    "resources": "Moyens engagés",
    "resource_party": "Partie",
    "resource_description": "Moyen",
    "resource_amount": "Montant",
    "milestones": "Calendrier prévisionnel",
    "milestone_title": "Jalon",
    "milestone_due": "Date prévue",
    "gain_sharing": "Partage des gains",
    "gain_basis": "Assiette",
    "gain_reference": "Référence",
    "gain_period": "Période",
    "gain_period_months": "{months} mois",
    "gain_shares": "Répartition entre les parties",
    "gain_member_split": "Entre les membres",
    "gain_settlement": "Règlement",
    "governance": "Gouvernance",
    "governance_body": "Instance",
    "governance_participants": "Participants",
    "governance_frequency": "Fréquence des revues",
    "governance_every": "tous les {months} mois",
    "not_defined": "Non défini pour ce plan.",
    "axis": "Axe : {title}",
    "added_by_avenant": "ajouté par l'avenant n° {number}",
    "objective": "Objectif : {title} ({kind})",
    "indicators": "Indicateurs",
    "indicator_name": "Indicateur",
    "indicator_baseline": "Référence",
    "indicator_target": "Cible",
    "indicator_trajectory": "Trajectoire",
    "indicator_scope": "Portée",
    "indicator_qualitative": "qualitatif (appréciation documentée)",
    "trajectory_step": "{target} à partir du {day}",
    "no_indicators": "Aucun indicateur pour cet objectif.",
    "actions": "Actions de l'axe",
    "action_title": "Action",
    "action_owner": "Porteur",
    "action_due": "Échéance",
    "action_status": "État",
    "no_actions": "Aucune action pour cet axe.",
    "dashboard_title": "Tableau de bord : {member}",
    "dashboard_intro": "Vos indicateurs face à leur cible, avec la valeur du groupement quand elle est partagée.",
    "dashboard_none": "Aucune mesure enregistrée pour cet indicateur.",
    "target_in_force": "Cible en vigueur : {target}",
    "table_caption": "{name} : valeurs par période",
    "col_period": "Période",
    "col_mine": "Ma valeur",
    "col_groupement": "Groupement",
    "col_target": "Cible",
    "col_assessment": "Appréciation",
    "col_source": "Source",
    "measure_title": "Saisir une mesure",
    "measure_intro": "Les champs marqués d'un astérisque (*) sont obligatoires. Nombres à la française "
                     "(31,5) ; dates au format jj/mm/aaaa (15/03/2025).",
    "field_indicator": "Indicateur",
    "field_period_start": "Début de la période",
    "field_period_end": "Fin de la période",
    "field_value": "Valeur",
    "field_source": "Source de la mesure",
    "field_declared_on": "Date de déclaration",
    "hint_date": "Format jj/mm/aaaa, par exemple 15/03/2025.",
    "hint_value": "Nombre décimal, par exemple 31,5.",
    "hint_source": "Par exemple : factures, bons de livraison.",
    "hint_declared_on": "Facultatif ; format jj/mm/aaaa.",
    "required": "obligatoire",
    "measure_button": "Enregistrer la mesure",
    "measure_errors": "La mesure n'a pas été enregistrée : corrigez {count}.",
    "measure_recorded": "Mesure enregistrée (position {position} du journal).",
    "err_required": "Ce champ est obligatoire.",
    "err_date": "« {value} » n'est pas une date au format jj/mm/aaaa (par exemple 15/03/2025).",
    "err_decimal": "« {value} » n'est pas un nombre (écrivez par exemple 31,5).",
    "err_indicator": "Choisissez un indicateur du plan.",
    "err_period_order": "La fin de la période doit suivre son début.",
    "err_too_long": "Ce champ fait au plus {limit} caractères.",
    "csrf_title": "Formulaire refusé",
    "csrf_message": "Ce formulaire a expiré ou ne vient pas de cette page (jeton anti-falsification absent ou "
                    "erroné) : rien n'a été enregistré. Revenez à la page et envoyez-le de nouveau.",
    "forbidden_title": "Accès refusé",
    "forbidden_message": "Votre organisation n'a pas accès à cette page.",
    "not_found_title": "Page introuvable",
    "not_found_message": "Cette page n'existe pas, ou votre organisation n'y a pas accès.",
    "signin_needed_title": "Connexion requise",
    "error_title": "Erreur",
    "error_message": "Le serveur n'a pas pu répondre ({code}).",
    "identity_refused": "Votre identité n'a pas pu être vérifiée ({code}) : connectez-vous de nouveau.",
    "oidc_failed": "La connexion par l'annuaire n'a pas abouti ({code}) : recommencez depuis la page de connexion.",
    "no_organisation": "Votre compte n'appartient à aucune organisation de la plateforme.",
    "back_home": "Retour à mes groupements et plans",
    "api_refusal": "Refusé par la plateforme ({code}) : {message}",
    "proposals_link": "Propositions",
    "proposals_title": "Propositions : {title}",
    "proposals_count": "{count} pour ce plan.",
    "proposals_none": "Aucune proposition pour ce plan.",
    "proposal_author": "Auteur",
    "proposal_axis": "Axe",
    "proposal_kind": "Nature",
    "proposal_submitted": "Soumise le",
    "proposal_status": "État",
    "proposal_impact": "Impact attendu : {impact}",
    "proposal_gain": "Gain attendu : {gain}",
    "submit_title": "Soumettre une proposition",
    "field_axis": "Axe du plan",
    "field_kind": "Nature de la proposition",
    "field_title": "Titre",
    "field_content": "Contenu",
    "field_impact": "Impact attendu",
    "field_gain": "Gain attendu (€ HT)",
    "field_submitted_on": "Date de la proposition",
    "hint_gain": "Facultatif ; nombre décimal, par exemple 1 250,50.",
    "submit_button": "Soumettre la proposition",
    "submit_errors": "La proposition n'a pas été soumise : corrigez {count}.",
    "proposal_submitted_ok": "Proposition soumise (position {position} du journal).",
    "err_choice": "Choisissez une valeur de la liste.",
    "timeline_link": "Historique (auditeurs)",
    "timeline_title": "Historique du plan : {title}",
    "timeline_intro": "Chaque événement du plan dans l'ordre du journal, avec l'état du plan après lui.",
    "timeline_caption": "Événements {first} à {last} du plan",
    "col_position": "Position",
    "col_moment": "Moment",
    "col_event": "Événement",
    "col_state": "État du plan après l'événement",
    "timeline_next": "Événements suivants",
    "timeline_none": "Aucun événement.",
    "state_no_plan": "plan pas encore dressé",
    "state_amount": "montant en vigueur {amount}",
    "state_closed": "clos par son bilan final",
    "chart_unit_missing": "valeur",
}


def message(key: str, **values: object) -> str:
    return MESSAGES[key].format(**values) if values else MESSAGES[key]


def refusal(code: str, text: str) -> str:
    """A command's refusal by the API, in French: by its code, else the API's message with its code."""
    if code in API_REFUSALS:
        return API_REFUSALS[code].format(message=text)
    return message("api_refusal", code=code, message=text)
