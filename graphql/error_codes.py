"""The stable codes of a refused command, as the GraphQL enum `UserErrorCode` of `userErrors { code }`.

A code is the `code` of a domain error (domain/errors.py, domain/purchases.py) or of a service's refusal
(services/policy.py, services/access.py, services/applications.py, services/read_models.py…); the value's GraphQL
name is the code itself, the string clients already received in `error { code }`. Each has its meaning in French.
tests/integration/test_graphql_relay.py fails if a code that a command can raise is missing here.
"""

from __future__ import annotations

from progres.graphql.enums import closed_set

MEANINGS = {
    "adhesion_decided_after_joining": "L'adhésion prendrait effet avant d'avoir été décidée.",
    "adhesion_decision_required": "L'admission d'un membre demande sa délibération ou décision d'adhésion (CCP "
                                  "L2113-6, L2113-7), comme document, et sa date.",
    "already_assigned": "L'organisation est déjà désignée.",
    "already_decided_in_review": "Cette revue a déjà statué sur la proposition.",
    "already_exists": "L'entité existe déjà.",
    "already_member": "L'organisation est déjà membre actif du groupement.",
    "auditor_must_be_audit_body": "Un auditeur doit être un organe de contrôle.",
    "avenant_basis_not_allowed": "Le fondement juridique ne permet pas cet avenant.",
    "avenant_cap_exceeded": "L'avenant dépasse le plafond que son fondement permet (en % du montant initial).",
    "avenant_not_found": "Aucun avenant de ce numéro sur ce marché.",
    "avenant_wrong_state": "L'avenant n'est pas à l'état qui permet cette étape.",
    "cao_opinion_already_recorded": "La CAO a déjà rendu son avis sur cet avenant.",
    "cao_opinion_missing": "L'avenant augmente de plus de 5 % un marché attribué par la CAO : son avis d'abord "
                           "(L1414-4 CGCT).",
    "cao_opinion_not_expected": "Cet avenant ne demande pas l'avis de la CAO.",
    "close_before_notification": "Une clôture précède la notification du marché.",
    "command_id_reused": "Cet identifiant de commande a déjà servi pour une autre commande ou d'autres arguments.",
    "concurrency_conflict": "La commande a rencontré des modifications concurrentes plusieurs fois de suite ; "
                            "réessayez.",
    "conflicting_page_arguments": "Une page demandée à la fois par le début (`first`) et par la fin (`last`).",
    "convention_required": "Un groupement est constitué par sa convention constitutive signée (CCP L2113-6).",
    "coordonnateur_cannot_leave": "Le coordonnateur ne peut pas quitter le groupement qu'il coordonne.",
    "coordonnateur_must_be_buyer": "Le coordonnateur doit être un acheteur.",
    "coordonnateur_must_be_french": "Le coordonnateur doit être un acheteur français connu par son SIRET (L2113-8).",
    "date_before_convention": "La date précède la signature de la convention.",
    "date_before_membership": "Un retrait précède l'adhésion.",
    "decision_not_accepted": "Un avenant issu du plan doit suivre une proposition acceptée.",
    "declared_date_in_future": "La date déclarée est postérieure à aujourd'hui.",
    "domain_error": "La commande est refusée par une règle.",
    "duplicate_key": "Cette clé existe déjà dans le plan.",
    "empty_avenant": "Un avenant doit modifier quelque chose.",
    "eu_threshold_unknown": "Aucun seuil européen n'est connu pour cette date.",
    "forbidden": "L'appelant n'a pas le droit de faire cette commande.",
    "groupement_already_exists": "Un groupement de ce code existe déjà.",
    "groupement_not_found": "Aucun groupement avec cet identifiant.",
    "identifier_does_not_fit_kind": "L'identifiant (SIRET ou numéro de TVA) ne convient pas au type d'organisation.",
    "inactive_member": "L'organisation n'est pas membre actif du groupement à cette date.",
    "invalid_action_transition": "Une action ne peut pas passer de ce statut à celui demandé.",
    "invalid_eu_identifier": "Ce n'est pas le numéro de TVA d'un acheteur d'un autre État de l'UE.",
    "invalid_gain_sharing": "Le partage des gains ne respecte pas une règle (parts, période, modalités).",
    "invalid_indicator": "La définition de l'indicateur ne respecte pas une règle.",
    "invalid_input": "Une valeur ne respecte pas son format ou sa plage.",
    "invalid_particular": "Une donnée DECP ne respecte pas le schéma des DECP.",
    "invalid_purchase_file": "Le fichier d'achats est refusé (format, colonnes ou lignes).",
    "invalid_siret": "Ce n'est pas un SIRET valide.",
    "launch_after_notification": "Le lancement de la consultation suit la notification du marché.",
    "marche_already_notified": "Un marché de ce code est déjà notifié.",
    "marche_closed": "Le marché est clos : il ne peut plus qu'être consulté.",
    "marche_not_found": "Aucun marché avec cet identifiant.",
    "measure_already_recorded": "Une mesure de cet indicateur pour ce membre et cette période est déjà enregistrée : "
                                "corrigez-la plutôt.",
    "measure_not_found": "Aucune mesure avec cet identifiant.",
    "member_must_be_buyer": "Un membre doit être un acheteur.",
    "not_a_member": "L'organisation n'est pas membre actif à cette date.",
    "not_a_party": "L'organisation ne prend pas part à ce groupement.",
    "not_a_party_to_marche": "L'organisation n'était pas membre au lancement du marché : elle n'y est pas partie.",
    "not_entitled": "L'organisation n'est ni membre actif ni titulaire.",
    "not_found": "Introuvable parmi ce qui est visible à l'appelant.",
    "organisation_already_registered": "Une organisation de cet identifiant est déjà enregistrée.",
    "organisation_not_found": "Aucune organisation avec cet identifiant.",
    "period_not_calendar": "La période n'est pas une période calendaire de la périodicité de l'indicateur.",
    "period_outside_marche": "La période sort de la durée du marché.",
    "plan_already_exists": "Le marché a déjà un plan de progrès.",
    "plan_closed": "Le plan de progrès est clos par son bilan final : il ne peut plus qu'être consulté.",
    "plan_not_found": "Aucun plan de progrès avec cet identifiant.",
    "position_ahead_of_log": "La position est au-delà de la fin du journal.",
    "proposal_not_found": "Aucune proposition avec cet identifiant.",
    "proposal_not_pending": "La proposition n'est plus en attente.",
    "proposal_of_another_plan": "La proposition appartient à un autre plan.",
    "purchase_file_already_imported": "Ce fichier d'achats a déjà été importé pour ce plan.",
    "read_models_lagging": "Les vues n'ont pas encore atteint la position demandée : réessayez dans un instant.",
    "review_already_held": "La revue est déjà tenue ou close.",
    "review_not_found": "Aucune revue avec cet identifiant.",
    "review_not_held": "La revue doit être tenue (et non close) pour cette étape.",
    "signed_before_cao_opinion": "L'avenant ne peut pas être signé avant l'avis de la CAO.",
    "titulaire_must_be_supplier": "Un titulaire doit être un fournisseur.",
    "unchanged_correction": "La correction donne la valeur déjà enregistrée.",
    "unknown_action": "Aucune action de cette clé dans le plan.",
    "unknown_axis": "Aucun axe de cette clé dans le plan.",
    "unknown_indicator": "Aucun indicateur de cette clé dans le plan.",
    "unknown_objective": "Aucun objectif de cette clé dans le plan.",
    "withdrawn_from_marche": "L'organisation a quitté le groupement et la convention met fin à sa part dans les "
                             "marchés en cours.",
    "wrong_scope": "La portée de l'indicateur ne permet pas cette mesure (membre ou groupement).",
    "wrong_value_kind": "Une valeur pour un indicateur quantitatif, une appréciation pour un qualitatif.",
}

UserErrorCode = closed_set("UserErrorCode", "Code stable d'une commande refusée : la même chaîne que `error.code`.",
                           MEANINGS)
