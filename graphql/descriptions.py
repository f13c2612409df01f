"""The French descriptions of the GraphQL contract, in the users' words (glossary of ../DESIGN.md: groupement,
coordonnateur, titulaire, marché, plan de progrès, mesure, proposition, revue, avenant, bilan…).

One place for the words shared by every type and operation: `FIELDS` describes a field by its (Python) name
wherever the type gives it no description of its own, `ARGUMENTS` an argument by its name in every operation,
`OPERATION_ARGUMENTS` the arguments whose meaning depends on the operation, and `MUTATIONS` what each mutation
does. Types, queries and subscriptions keep their own description beside their definition. `describe` fills
what a definition leaves empty; the test tests/integration/test_graphql_descriptions.py fails on anything of
ours left undescribed.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY

DATE = "Date ISO 8601 `aaaa-mm-jj`"
DECIMAL = "nombre décimal, de préférence en chaîne avec un point (ex. `\"1250.50\"`)"
ID_ = "identifiant"

# Fields of the types (and of the input objects), by Python name.
FIELDS: dict[str, str] = {
    "id": "Identifiant stable.",
    "code": "Code donné par les acheteurs (identifiant DECP pour un marché).",
    "name": "Nom.",
    "title": "Intitulé, dans les mots des utilisateurs.",
    "siret": "SIRET (14 chiffres, clé de Luhn vérifiée).",
    "purpose": "Objet du groupement, tel que la convention constitutive l'énonce.",
    "key": "Clé, unique dans le plan.",
    "organisation_id": "L'organisation concernée.",
    "joined_on": "Date d'entrée dans le groupement (aaaa-mm-jj).",
    "left_on": "Date de sortie du groupement (aaaa-mm-jj, exclue), s'il en est sorti.",
    "coordonnateur_id": "Le coordonnateur du groupement.",
    "members": "Les membres avec leurs dates, le coordonnateur en premier.",
    "marches": "Les marchés du groupement.",
    "plan_ids": "Les plans de progrès des marchés du groupement.",
    "object": "Objet du marché.",
    "cpv": "Code CPV (vocabulaire commun des marchés publics).",
    "nature": "Nature du marché : fournitures, services ou travaux.",
    "duration_months": "Durée du marché, en mois.",
    "notified_on": "Date de notification (aaaa-mm-jj).",
    "titulaire_ids": "Le ou les titulaires du marché.",
    "closed_on": "Date de clôture (aaaa-mm-jj), s'il est clos.",
    "avenants": "Les avenants, dans l'ordre de leurs numéros.",
    "number": "Numéro de l'avenant, à partir de 1.",
    "reason": "Motif, en clair.",
    "signed_on": "Date de signature (aaaa-mm-jj).",
    "indicator_key": "Clé de l'indicateur mesuré.",
    "period_start": "Premier jour de la période (aaaa-mm-jj).",
    "period_end": "Dernier jour de la période (aaaa-mm-jj).",
    "source": "Origine du chiffre (fichier, comptage, facture…).",
    "unit": "Unité de mesure (ex. %, kg, €).",
    "baseline": "Valeur de référence au début du plan.",
    "target": "Cible finale.",
    "direction": "Sens souhaité : increase (à la hausse) ou decrease (à la baisse).",
    "periodicity": "Périodicité des mesures : monthly, quarterly, semestrial ou yearly.",
    "indicators": "Les indicateurs de l'objectif.",
    "description": "Description.",
    "objectives": "Les objectifs de l'axe.",
    "axis_key": "Clé de l'axe concerné.",
    "due_on": "Date d'échéance (aaaa-mm-jj).",
    "status_on": "Date du dernier changement de statut (aaaa-mm-jj).",
    "marche_id": "Le marché.",
    "groupement_id": "Le groupement.",
    "plan_id": "Le plan de progrès.",
    "axes": "Les axes du plan.",
    "actions": "Les actions du plan.",
    "reviews": "Les revues du plan.",
    "author_id": "L'organisation qui l'a soumise.",
    "kind": "Type.",
    "content": "Ce qui est proposé.",
    "expected_impact": "Impact attendu, en clair.",
    "expected_gain": "Gain attendu, en euros HT par an.",
    "submitted_on": "Date de soumission (aaaa-mm-jj).",
    "decisions": "Les décisions prises, avec leurs motifs.",
    "scheduled_on": "Date prévue (aaaa-mm-jj).",
    "held_on": "Date de tenue (aaaa-mm-jj).",
    "participants": "Les participants, avec leur fonction.",
    "member_id": "Le membre.",
    "active": "Vrai si le membre est actif à la date de la vue.",
    "aggregate_id": "L'entité à laquelle appartient l'événement.",
    "version": "Version de l'entité après l'événement.",
    "timestamp": "Heure d'enregistrement de l'événement (UTC, ISO 8601).",
    "has_next_page": "Vrai si d'autres éléments suivent.",
    "end_cursor": "Curseur du dernier élément de la page, à passer en `after`.",
    "edges": "Les éléments de la page.",
    "cursor": "Curseur de cet élément, à passer en `after`.",
    "node": "L'élément.",
    "page_info": "État de la pagination.",
    "total_count": "Nombre d'éléments de toute la liste.",
    "sha256": "Empreinte SHA-256 du contenu du document (64 caractères hexadécimaux).",
    "media_type": "Type de média, ex. application/pdf.",
    "duration_delta_months": "Variation de la durée, en mois.",
    "position": "Position dans le journal des événements.",
    "cumulative_change_percent": "Variation cumulée du montant du marché par rapport au montant initial, en %.",
    "since": "À partir de cet instant (ISO 8601, inclus).",
    "until": "Jusqu'à cet instant (ISO 8601, inclus).",
    "type": "Type d'événement, ex. Measure.Recorded.",
}

BUSINESS_DATE = ("Date métier (aaaa-mm-jj) : le plan tel qu'il était ce jour-là (membres, cibles et avenants en "
                 "vigueur, périodes achevées à cette date) ; absent : le jour du dernier événement ; avant le début "
                 "du plan : aucun membre ni période, et un avis `before_plan_start`. Indépendante de `asKnownAt`.")

# Arguments, by Python name, in every operation that has them (unless OPERATION_ARGUMENTS says otherwise).
ARGUMENTS: dict[str, str] = {
    # Reading
    "first": "Nombre d'éléments voulus dans la page, de 1 à 500.",
    "after": "Curseur (`endCursor` de la page précédente) après lequel la page commence ; absent : depuis le début.",
    "min_position": "Position du journal que la lecture doit avoir atteinte (celle renvoyée par une mutation, pour "
                    "lire sa propre écriture) ; absent : l'état courant ; au-delà du journal : refus "
                    "`position_ahead_of_log`.",
    "as_of": "Lire l'état à cet instant : date `aaaa-mm-jj` (son premier instant) ou date et heure ISO 8601 (UTC "
             "sans décalage).",
    "position": "Lire l'état à cette position du journal (entier à partir de 1).",
    "as_known_at": "Ce que le journal contenait alors : un instant ISO 8601 (`aaaa-mm-jj` : son premier instant ; "
                   "UTC sans décalage) ou une position du journal (entier à partir de 1) ; absent : maintenant. "
                   "Avant tout enregistrement : un état vide et un avis (`extensions.notices`, code "
                   "`nothing_recorded_yet`).",
    "after_position": "Position du journal après laquelle envoyer les événements (0 : depuis le début).",
    "filter": "Filtres de la liste ; le groupement (ou le plan) est obligatoire.",
    "until": "Rejouer jusqu'à cet instant ISO 8601 (inclus) ; absent : jusqu'à maintenant.",
    "figure": "Chiffre du bilan à prouver : clé d'un indicateur, suivie éventuellement de `.first`, `.last` ou "
              "`.latest`.",
    "territory": "Territoire dont les seuils EGalim s'appliquent (HEXAGONE par défaut).",
    "aggregate_id": "Identifiant de l'entité (groupement, marché, plan, mesure…).",
    # Identifiers
    "id": "Identifiant de l'entité.",
    "plan_id": "Identifiant du plan de progrès.",
    "groupement_id": "Identifiant du groupement.",
    "marche_id": "Identifiant du marché.",
    "organisation_id": "Identifiant de l'organisation.",
    "member_id": "Identifiant du membre (une organisation membre du groupement).",
    "coordonnateur_id": "Identifiant de l'organisation coordonnatrice, déjà enregistrée.",
    "titulaire_ids": "Identifiants des titulaires du marché (organisations déjà enregistrées).",
    "proposal_id": "Identifiant de la proposition.",
    "review_id": "Identifiant de la revue.",
    "measure_id": "Identifiant de la mesure.",
    "author_id": "Identifiant de l'organisation qui soumet la proposition (membre, coordonnateur ou titulaire).",
    "recorded_by": "Identifiant de l'organisation qui enregistre la mesure.",
    "corrected_by": "Identifiant de l'organisation qui corrige la mesure.",
    "imported_by": "Identifiant de l'organisation qui importe le fichier.",
    "by": "Identifiant de l'organisation qui agit.",
    "owner_organisation_id": "Identifiant de l'organisation qui porte l'action (partie au groupement ou titulaire) ; "
                             "facultatif.",
    "member_ids": "Identifiants des membres concernés par l'action ; absent : tous.",
    "command_id": "Identifiant de la commande choisi par le client (texte libre, propre à son organisation) : "
                  "renvoyer la même commande avec le même identifiant rend la première réponse sans rien réécrire "
                  "(`replayed`) ; le même identifiant avec une autre commande ou d'autres arguments est refusé "
                  "(`command_id_reused`).",
    # Texts and keys
    "code": "Code, unique (au plus 16 caractères pour un marché : son identifiant DECP).",
    "name": "Nom.",
    "title": "Intitulé (au plus 255 caractères).",
    "key": "Clé choisie par le client, unique dans le plan (au plus 64 caractères).",
    "axis_key": "Clé d'un axe du plan.",
    "indicator_key": "Clé d'un indicateur du plan.",
    "description": "Description, en clair.",
    "reason": "Motif, en clair.",
    "reasons": "Motifs de la décision, en clair.",
    "note": "Commentaire libre (facultatif).",
    "purpose": "Objet du groupement, tel que la convention constitutive l'énonce.",
    "siret": "SIRET (14 chiffres, clé de Luhn vérifiée) ; null pour un acheteur d'un autre État de l'UE.",
    "vat_number": "Numéro de TVA intracommunautaire d'un acheteur d'un autre État de l'UE (ex. `DE123456789`).",
    "object": "Objet du marché.",
    "cpv": "Code CPV du marché (ex. `15000000-8`).",
    "nature": "Nature du marché : `fournitures`, `services` ou `travaux`.",
    "source": "Origine des chiffres (fichier, comptage, facture…).",
    "summary": "Synthèse du bilan final (au plus 10 000 caractères).",
    "content": "Ce qui est proposé, en clair.",
    "expected_impact": "Impact attendu, en clair.",
    "text": "Le point soulevé, en clair.",
    "filename": "Nom du fichier importé.",
    "body": "Instance de gouvernance (ex. comité de pilotage).",
    # Dates
    "signed_on": DATE + " de signature.",
    "notified_on": DATE + " de notification.",
    "launched_on": DATE + " de lancement de la consultation (ses parties sont les membres de ce jour) ; absent : "
                   "la date de notification.",
    "decided_on": DATE + " de la délibération ou décision d'adhésion.",
    "due_on": DATE + " d'échéance.",
    "period_start": DATE + " du premier jour de la période.",
    "period_end": DATE + " du dernier jour de la période.",
    "declared_on": DATE + " déclarée par qui enregistre (date de sa facture ou de son comptage) ; absent : "
                   "aujourd'hui ; jamais dans le futur.",
    "corrected_on": DATE + " de la correction.",
    "submitted_on": DATE + " de soumission.",
    "scheduled_on": DATE + " prévue pour la revue.",
    "held_on": DATE + " de tenue de la revue.",
    "given_on": DATE + " de la séance de la CAO.",
    "imported_on": DATE + " de l'import.",
    "on": DATE + ".",
    # Numbers and amounts
    "duration_months": "Durée du marché, en mois (entier positif).",
    "period_months": "Durée de la période de mesure du gain, en mois (entier positif).",
    "review_frequency_months": "Fréquence des revues, en mois (entier positif).",
    "number": "Numéro de l'avenant (entier, à partir de 1).",
    "initial_amount": "Montant initial du marché en euros HT : " + DECIMAL + ".",
    "amount": "Montant en euros HT : " + DECIMAL + ".",
    "value": "Valeur d'un indicateur quantitatif : " + DECIMAL + " ; null pour un indicateur qualitatif.",
    "assessment": "Appréciation d'un indicateur qualitatif, en clair ; null pour un indicateur quantitatif.",
    "expected_gain": "Gain attendu en euros HT par an : " + DECIMAL + " ; facultatif.",
    # Choices
    "permanent": "Vrai pour un groupement permanent, faux pour un groupement constitué pour une seule "
                 "consultation.",
    "shares_member_details": "Vrai si la convention partage le détail des membres avec les autres membres et les "
                             "titulaires.",
    "withdrawal_clause": "Clause de retrait de la convention : `bound_until_marche_end` (le membre sortant reste "
                         "lié jusqu'à la fin des marchés en cours, par défaut) ou `ends_at_withdrawal`.",
    "has_clause_reexamen": "Vrai si le marché prévoit une clause de réexamen (R2194-1).",
    "buyer_kind": "Colonne des seuils européens : `pouvoir_adjudicateur`, `autorite_publique_centrale` ou "
                  "`entite_adjudicatrice`.",
    "awarded_by_cao": "Vrai si la commission d'appel d'offres a attribué le marché (L1414-4 CGCT s'applique "
                      "alors).",
    "owner": "Qui porte l'action : `titulaire`, `acheteur` ou `joint`.",
    "status": "Nouveau statut : `planned`, `in_progress`, `done` ou `cancelled`.",
    "party": "Partie qui engage le moyen : `titulaire`, `acheteur` ou `joint`.",
    "member_split": "Répartition entre les membres : `purchase_volume` (au prorata des volumes d'achat) ou `equal` "
                    "(parts égales).",
    "settlement": "Règlement du gain : `price_reduction` (baisse de prix), `rebate` (remise) ou `reinvestment` "
                  "(réinvestissement dans le plan).",
    "outcome": "Décision : `accepted`, `rejected` ou `postponed`.",
    "reading": "Lecture de R2194-9 : `net` (celle de la directive 2014/24, art. 72(2), par défaut) ou `absolute`.",
    "favourable": "Vrai si l'avis de la CAO est favorable.",
    # Documents
    "document": "Le document, par son empreinte SHA-256, son nom et son type de média ; facultatif.",
    "convention": "La convention constitutive signée, par son empreinte SHA-256 ; facultatif.",
    "decision": "La délibération ou décision d'adhésion, par son empreinte SHA-256 ; facultatif.",
    "evidence": "La pièce justificative, par son empreinte SHA-256 ; facultatif.",
    "minutes": "Le compte rendu de la revue, par son empreinte SHA-256 ; facultatif.",
    # Gain sharing
    "basis": "Base du gain, en clair (ex. économies constatées sur les factures).",
    "reference": "Référence à laquelle le gain est mesuré, en clair (ex. prix de l'année 1).",
    # Typed arguments (graphql/input_types.py), which replaced the first contract's JSON arguments
    "indicator": "L'indicateur à définir.",
    "measures": "Les mesures, toutes enregistrées ou aucune ; une mesure refusée est nommée dans le champ de "
                "l'erreur (`measures[i].…`).",
    "attendees": "Les participants à la revue, au moins un.",
    "raised_by_participant": "Qui soulève le point.",
    "party_shares": "Part du gain de chaque partie, en %.",
    "avenant_changes": "Ce que change l'avenant.",
    "indicator_feeds": "Les indicateurs du plan que le fichier alimente, chacun avec la part calculée qui "
                       "l'alimente ; facultatif.",
    "marche_lots": "Les lots du marché ; facultatif.",
    "decp_particulars": "Ce que les DECP publient du marché (procédure, CCAG, prix…), vérifié contre leur schéma.",
}

# Arguments whose meaning depends on the operation, by operation (Python name) then argument.
OPERATION_ARGUMENTS: dict[str, dict[str, str]] = {
    "plan_balance": {"on": BUSINESS_DATE},
    "register_organisation": {
        "name": "Raison sociale ou nom de l'organisation.",
        "kind": "Type d'organisation : `collectivite`, `eple`, `state_service`, `hospital`, "
                "`public_establishment`, `eu_buyer` (acheteur d'un autre État de l'UE), `supplier` ou `audit_body`.",
    },
    "constitute_groupement": {
        "code": "Code du groupement, unique sur la plateforme.",
        "name": "Nom du groupement.",
        "signed_on": DATE + " de signature de la convention constitutive.",
    },
    "admit_member": {"on": DATE + " d'entrée du membre dans le groupement."},
    "release_member": {"on": DATE + " de sortie du membre (exclue : il n'est plus membre ce jour-là)."},
    "choose_small_modifications_reading": {
        "on": DATE + " à laquelle la lecture est retenue.",
        "reason": "Motif du choix, en clair.",
        "document": "La délibération ou décision qui retient cette lecture, par son empreinte SHA-256 ; facultatif.",
    },
    "assign_auditor": {"organisation_id": "Identifiant de l'organisme d'audit (organisation de type `audit_body`)."},
    "notify_marche": {"code": "Identifiant DECP du marché (au plus 16 caractères), unique dans le groupement."},
    "close_marche": {"on": DATE + " de clôture du marché."},
    "draw_up_plan": {"title": "Intitulé du plan de progrès."},
    "add_axis": {"description": "Description de l'axe (facultative)."},
    "add_objective": {
        "key": "Clé de l'objectif, unique dans le plan (au plus 64 caractères).",
        "kind": "Nature de l'obligation : `moyens` ou `resultats`.",
    },
    "plan_action": {"key": "Clé de l'action, unique dans le plan (au plus 64 caractères)."},
    "change_action_status": {
        "key": "Clé de l'action.",
        "on": DATE + " du changement de statut.",
        "note": "Commentaire sur le changement (facultatif).",
    },
    "commit_resource": {
        "description": "Le moyen engagé, en clair (personnel, outil, budget…).",
        "amount": "Montant engagé en euros HT : " + DECIMAL + " ; facultatif.",
    },
    "schedule_milestone": {"key": "Clé du jalon, unique dans le plan (au plus 64 caractères)."},
    "define_governance": {"participants": "Les fonctions ou organisations représentées dans l'instance (au moins "
                                          "une)."},
    "declare_purchase_volume": {
        "member_id": "Identifiant du membre, partie au marché (membre à son lancement).",
        "amount": "Volume d'achat du membre en euros HT : " + DECIMAL + ", positif ou nul ; il pèse dans les "
                  "moyennes pondérées et le partage des gains.",
    },
    "close_plan_with_bilan_final": {
        "on": DATE + " du bilan final.",
        "document": "Le bilan final signé, par son empreinte SHA-256 ; facultatif.",
    },
    "record_measure": {"member_id": "Identifiant du membre mesuré ; null pour une mesure de tout le groupement."},
    "correct_measure": {"reason": "Motif de la correction, en clair."},
    "submit_proposal": {
        "kind": "Type de proposition : `innovation`, `service_improvement` (amélioration du service) ou "
                "`sur_qualite_reduction` (réduction de la sur-qualité).",
        "title": "Intitulé de la proposition.",
    },
    "withdraw_proposal": {
        "by": "Identifiant de l'organisation qui retire la proposition (son auteur).",
        "on": DATE + " du retrait.",
        "reason": "Motif du retrait, en clair.",
    },
    "schedule_review": {"title": "Intitulé de la revue (ex. bilan semestriel)."},
    "raise_point": {"kind": "Nature du point : `constraint` (contrainte), `need` (besoin), `difficulty` "
                            "(difficulté) ou `idea` (idée)."},
    "close_review": {"on": DATE + " de clôture de la revue."},
    "propose_avenant": {
        "basis": "Fondement juridique de la modification : `R2194-1` (clause de réexamen), `R2194-2` (prestations "
                 "supplémentaires), `R2194-3`, `R2194-4`, `R2194-5` (circonstances imprévues), `R2194-6` "
                 "(remplacement du titulaire), `R2194-7` (modification non substantielle), `R2194-8` "
                 "(modification de faible montant) ou `R2194-9`.",
        "reason": "Motif de l'avenant, en clair.",
        "proposal_id": "Identifiant de la proposition, décidée en revue, dont l'avenant découle ; facultatif.",
        "on": DATE + " de l'avenant proposé (il choisit le seuil européen de R2194-8) ; absent : aujourd'hui.",
    },
    "sign_avenant": {"document": "L'avenant signé, par son empreinte SHA-256 ; facultatif."},
    "record_cao_opinion": {"document": "Le procès-verbal de la CAO, par son empreinte SHA-256 ; facultatif."},
    "abandon_avenant": {"reason": "Motif de l'abandon, en clair."},
    "correct_particulars": {"reason": "Motif de la correction, en clair."},
    "import_purchases": {
        "member_id": "Identifiant du membre (l'établissement acheteur) dont ce sont les achats.",
        "content": "Le fichier d'achats au format ma cantine (CSV ou XLSX), encodé en base64.",
        "filename": "Nom du fichier, avec son extension (`.csv` ou `.xlsx`).",
    },
    "plan": {"id": "Identifiant du plan de progrès.", "on": BUSINESS_DATE},
    "member_view": {"member_id": "Identifiant du membre dont on lit la vue.", "on": BUSINESS_DATE},
    "egalim_shares": {
        "member_id": "Identifiant du membre (l'établissement acheteur).",
        "period_start": DATE + " du premier jour de la période (les mois entiers sont comptés).",
    },
    "events": {"first": "Nombre d'événements voulus dans la page, de 1 à 1\u202f000."},
    "replay": {"first": "Nombre d'étapes voulues dans la page, de 1 à 1\u202f000."},
    "history": {"first": "Nombre d'événements voulus dans la page.",
                "aggregate_id": "Identifiant de l'entité (groupement, marché, plan, mesure…) dont on lit "
                                "l'historique."},
    "figure_proof": {"plan_id": "Identifiant du plan de progrès dont le bilan porte le chiffre."},
}

# What each mutation does, by command (services/commands.py).
MUTATIONS: dict[str, str] = {
    "register_organisation": "Enregistre une organisation (acheteur, fournisseur ou organisme d'audit) : par son "
                             "SIRET si elle est française, par son numéro de TVA si c'est un acheteur d'un autre "
                             "État de l'UE.",
    "constitute_groupement": "Constitue un groupement de commandes par sa convention constitutive signée (L2113-6 "
                             "CCP), avec son coordonnateur et la clause de retrait de la convention.",
    "admit_member": "Fait adhérer une organisation au groupement à une date, sur sa délibération ou décision "
                    "d'adhésion (document par empreinte, et sa date).",
    "release_member": "Fait sortir un membre du groupement à une date ; selon la clause de retrait, il reste lié "
                      "aux marchés en cours jusqu'à leur fin.",
    "assign_auditor": "Désigne un organisme d'audit du groupement : il lit l'historique et les bilans, sans rien "
                      "écrire.",
    "notify_marche": "Notifie le marché attribué par le groupement à son ou ses titulaires ; ses parties sont les "
                     "membres du jour du lancement de la consultation.",
    "close_marche": "Clôt le marché à une date (au plus tôt celle de sa notification) : ses avenants ne peuvent "
                    "plus être proposés, signés ni notifiés ensuite.",
    "draw_up_plan": "Établit le plan de progrès du marché (un seul par marché), vide, à compléter par ses axes, "
                    "objectifs et indicateurs.",
    "add_axis": "Ajoute un axe au plan de progrès.",
    "add_objective": "Ajoute à un axe du plan un objectif, obligation de moyens ou de résultats.",
    "define_indicator": "Définit un indicateur d'un objectif : quantitatif (unité, sens, référence, cible, "
                        "trajectoire) ou qualitatif, sa périodicité et sa portée (membre ou groupement).",
    "plan_action": "Inscrit au plan une action datée, portée par le titulaire, l'acheteur ou les deux, "
                   "éventuellement pour certains membres.",
    "change_action_status": "Fait avancer une action du plan (prévue, en cours, faite ou annulée) à une date.",
    "commit_resource": "Inscrit au plan un moyen ou une ressource qu'une partie s'engage à mettre en œuvre.",
    "schedule_milestone": "Inscrit un jalon daté au calendrier prévisionnel du plan.",
    "define_gain_sharing": "Définit les valeurs et le partage des gains du plan : comment le gain se mesure, la part "
                           "de chaque partie, la répartition entre les membres et le règlement.",
    "define_governance": "Définit la gouvernance du plan : l'instance, qui y participe et la fréquence des revues.",
    "declare_purchase_volume": "Déclare le volume d'achat d'un membre partie au marché, qui le pèse dans les "
                               "moyennes pondérées et le partage des gains.",
    "close_plan_with_bilan_final": "Clôt le plan de progrès par son bilan final : plus rien ne s'y enregistre "
                                   "ensuite.",
    "record_measure": "Enregistre la mesure d'un indicateur pour un membre (ou le groupement) et une période ; le "
                      "serveur date l'enregistrement, declaredOn est la date métier déclarée.",
    "import_measures": "Enregistre d'un coup plusieurs mesures (le fichier d'un membre) : toutes, ou aucune si "
                       "l'une est refusée.",
    "correct_measure": "Corrige la valeur ou l'appréciation d'une mesure, avec son motif : la valeur précédente "
                       "reste dans l'historique de la mesure.",
    "submit_proposal": "Soumet une proposition d'amélioration sur un axe du plan, au nom d'un membre, du "
                       "coordonnateur ou du titulaire.",
    "withdraw_proposal": "Retire une proposition soumise ou reportée (pas encore acceptée ni rejetée), par son "
                         "auteur, avec le motif.",
    "schedule_review": "Programme une revue du plan (ex. bilan semestriel) à une date.",
    "hold_review": "Tient une revue programmée : sa date, ses participants et son compte rendu.",
    "raise_point": "Consigne dans une revue un point soulevé (contrainte, besoin, difficulté ou idée) et qui le "
                   "soulève.",
    "decide": "Décide en revue d'une proposition : acceptée, rejetée ou reportée, avec les motifs.",
    "close_review": "Clôt une revue tenue : plus rien ne s'y consigne ensuite.",
    "propose_avenant": "Propose un avenant au marché (modification de marché, R2194-1 à R2194-9) : son fondement, "
                       "son motif et ce qu'il change, vérifiés contre les plafonds ; sa date choisit le seuil "
                       "européen applicable.",
    "sign_avenant": "Enregistre la signature d'un avenant proposé (après l'avis de la CAO quand il est requis).",
    "notify_avenant": "Notifie un avenant signé : ses changements prennent effet, et ceux qu'il apporte au plan "
                      "(un nouvel axe) y entrent dans la même transaction.",
    "abandon_avenant": "Abandonne un avenant proposé ou signé mais pas encore notifié, avec le motif.",
    "import_purchases": "Importe le fichier d'achats d'un membre au format ma cantine et alimente les indicateurs "
                        "du plan avec les parts EGalim qu'il donne.",
    "record_cao_opinion": "Enregistre l'avis de la commission d'appel d'offres sur un projet d'avenant augmentant "
                          "le montant de plus de 5 % (L1414-4 CGCT).",
    "correct_particulars": "Corrige après notification ce que les DECP publient du marché (vérifié contre le schéma "
                           "des DECP), avec le motif.",
    "choose_small_modifications_reading": "Consigne la lecture que le groupement retient de R2194-9 pour cumuler les "
                                          "modifications de faible montant : nette (celle de la directive, par "
                                          "défaut) ou absolue.",
}


def argument_description(operation: str, name: str) -> str | None:
    """What an argument of an operation expects: its own text for that operation, else the shared one."""
    return OPERATION_ARGUMENTS.get(operation, {}).get(name) or ARGUMENTS.get(name)


def describe(*types: Any) -> None:
    """Fills the descriptions a type leaves empty: its fields' from FIELDS, their arguments' from the glossary."""
    for kind in types:
        for field_ in kind.__strawberry_definition__.fields:
            if not field_.description:
                field_.description = FIELDS.get(field_.python_name)
            for argument in field_.arguments:
                if not argument.description:
                    argument.description = argument_description(field_.python_name, argument.python_name)


# The scalars of ours that strawberry defines, described in French (their names and formats unchanged).
SCALARS: dict[str, str] = {
    "Date": "Date au format ISO 8601 `aaaa-mm-jj` (ex. `2025-03-31`).",
    "DateTime": "Instant au format ISO 8601 `aaaa-mm-jjThh:mm:ss[.ffffff]+hh:mm`, avec son décalage (ex. "
                "`2025-03-31T14:05:00.123456+00:00` : heure UTC du serveur).",
}


def french_scalars() -> dict[object, Any]:
    """Strawberry's own `Date` and `DateTime` scalars with a French description, as `scalar_overrides`."""
    overrides: dict[object, Any] = {}
    for python_type in (date, datetime):
        definition = DEFAULT_SCALAR_REGISTRY[python_type]
        definition = getattr(definition, "_scalar_definition", definition)  # a ScalarWrapper in older strawberry
        overrides[python_type] = dataclasses.replace(definition, description=SCALARS[definition.name])
    return overrides
