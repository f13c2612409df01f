"""The seed's story as a runnable scenario: Région Hauts-de-France, the lycées of Lens, the
"Beurre Œuf Fromage" marché and its plan de progrès, from the award to the bilan final.

The same function builds the demo (`progres demo`) and the test fixture.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from progres.domain.values import Period, siret_with_key
from progres.services.commands import Progres

REGION = ("2000537670001", "Région Hauts-de-France", "collectivite")
LYCEES = [
    ("1962001230001", "Lycée Auguste Béhal (Lens)"),
    ("1962001240001", "Lycée Condorcet (Lens)"),
    ("1962001250001", "Lycée Maximilien de Robespierre (Lens)"),
    ("1962001260001", "Lycée professionnel Jean Moulin (Lens)"),
    ("1962001270001", "Lycée Henri Darras (Liévin)"),
    ("1962001280001", "Lycée professionnel Pierre de Coubertin (Lens)"),
]
LATE_LYCEE = ("1962001290001", "Lycée Louis Pasteur (Hénin-Beaumont)")
TITULAIRE = ("4190012340001", "Laiterie des Flandres SAS", "supplier")
AUDITOR = ("1300080150001", "Chambre régionale des comptes Hauts-de-France", "audit_body")

SEMESTERS = [Period.semester(2022, 1), Period.semester(2022, 2), Period.semester(2023, 1), Period.semester(2023, 2)]

# Per member and semester: how each indicator moves over the two years (index 0..3).
MEMBER_SERIES: dict[str, list[float]] = {
    "egalim_share": [26, 33, 41, 49],
    "deliveries_per_week": [2, 2, 1.5, 1],
    "basket_per_delivery": [185, 190, 260, 355],
    "price_per_delivery": [24, 23.5, 19, 15.5],
    "waste_weight": [880, 840, 770, 705],
}
WATER_USE = [1190, 1150, 1080, 1010]
SIQO_ASSESSMENTS = [
    "Liste SIQO établie : 14 références (AOP Maroilles, Comté, Label rouge œufs).",
    "Liste SIQO suivie : 17 références, deux ruptures sur le Maroilles AOP signalées par les cuisiniers.",
    "Liste SIQO élargie à 21 références, dont 4 fromages fermiers des Hauts-de-France.",
    "Liste SIQO stabilisée à 22 références ; aucune rupture au dernier semestre.",
]


def document(name: str, media_type: str = "application/pdf") -> dict[str, str]:
    """A reference to a document by content hash (the demo hashes the name as stand-in content)."""
    return {"sha256": hashlib.sha256(name.encode()).hexdigest(), "name": name, "media_type": media_type}


@dataclass
class SeedScenario:
    region: str
    lycees: list[str]
    late_lycee: str
    titulaire: str
    auditor: str
    groupement: str = ""
    marche: str = ""
    plan: str = ""
    proposals: dict[str, str] = field(default_factory=dict)
    reviews: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    commands: int = 0

    @property
    def members(self) -> list[str]:
        return [self.region, *self.lycees, self.late_lycee]


class ScenarioRunner:
    """Runs commands while counting them, so the summary can say how much was done."""

    def __init__(self, app: Progres) -> None:
        self.app = app
        self.count = 0

    def __call__(self, command: str, **kwargs: Any) -> str:
        result = getattr(self.app, command)(**kwargs)
        self.count += 1
        return result.id


def value_for(member_index: int, series: list[float], semester: int) -> Decimal:
    """Members differ a little from one another, as real lycées would."""
    spread = 1 + (member_index - 3) * 0.03
    return Decimal(str(round(series[semester] * spread, 1)))


def run_seed_scenario(app: Progres | None, run: Any = None) -> SeedScenario:
    """Plays the scenario through `run(command, **arguments) -> id` (by default straight on `app`; the
    end-to-end tests pass a runner that sends each command as a GraphQL mutation)."""
    run = run or ScenarioRunner(app)
    org = lambda spec, kind="eple": run("register_organisation", siret=siret_with_key(spec[0]),  # noqa: E731
                                        name=spec[1], kind=kind)
    s = SeedScenario(
        region=org(REGION, "collectivite"), lycees=[org(spec) for spec in LYCEES], late_lycee=org(LATE_LYCEE),
        titulaire=org(TITULAIRE, "supplier"), auditor=org(AUDITOR, "audit_body"),
    )
    build_groupement_and_marche(run, s)
    build_plan(run, s)
    run_execution(run, s)
    s.commands = getattr(run, "count", 0)
    return s


def build_groupement_and_marche(run: Any, s: SeedScenario) -> None:
    s.groupement = run(
        "constitute_groupement", code="GC-BOF-LENS", name="Groupement de commandes BOF des lycées de Lens",
        purpose="Achat de beurre, œufs et fromages pour la restauration des lycées du bassin de Lens",
        permanent=True, coordonnateur_id=s.region, signed_on="2021-06-15",
        convention=document("convention-constitutive-gc-bof-lens.pdf"),
    )
    for index, lycee in enumerate(s.lycees):
        run("admit_member", groupement_id=s.groupement, organisation_id=lycee, on="2021-09-01",
            decision=document(f"deliberation-adhesion-lycee-{index + 1}.pdf"), decided_on="2021-06-28")
    # It joined after the others, but before the marché was launched (2021-10-15): a party to it, since a
    # member that joins after a launch is not (QE 100136 of 2011).
    run("admit_member", groupement_id=s.groupement, organisation_id=s.late_lycee, on="2021-10-01",
        decision=document("deliberation-adhesion-lycee-pasteur.pdf"), decided_on="2021-09-20")
    run("assign_auditor", groupement_id=s.groupement, organisation_id=s.auditor)
    s.marche = run(
        "notify_marche", groupement_id=s.groupement, code="2022-BOF-01",
        object="Fourniture de beurre, œufs et fromages pour les lycées du bassin de Lens", cpv="15500000-3",
        nature="fournitures", titulaire_ids=[s.titulaire], initial_amount="480000.00", duration_months=24,
        notified_on="2022-01-01", launched_on="2021-10-15", has_clause_reexamen=True,
        lots=[{"number": 1, "title": "Beurre, œufs et fromages"}],
        particulars={
            "procedure": "Appel d'offres ouvert", "ccag": "Fournitures courantes et services",
            "forme_prix": "Unitaire", "types_prix": ["Définitif révisable"], "techniques": ["Accord-cadre"],
            "modalites_execution": ["Bons de commande"], "considerations_sociales": ["Pas de considération sociale"],
            "considerations_environnementales": ["Clause environnementale", "Critère environnemental"],
            "lieu_execution": {"code": "62498", "type_code": "Code commune"}, "offres_recues": 4,
            "marche_innovant": False, "attribution_avance": False, "taux_avance": 0,
            "type_groupement_operateurs": "Pas de groupement", "sous_traitance_declaree": False,
            "date_publication": "2022-01-10",
        },
    )


def build_plan(run: Any, s: SeedScenario) -> None:
    s.plan = run("draw_up_plan", marche_id=s.marche, title="Plan de progrès BOF des lycées de Lens")
    p = {"plan_id": s.plan}
    run("add_axis", **p, key="egalim", title="Augmenter la part de produits EGalim-compatibles",
        description="Critères EGalim, circuits courts, produits locaux")
    run("add_objective", **p, key="egalim-criteres", axis_key="egalim", title="Respecter les critères EGalim",
        kind="resultats")
    run("add_objective", **p, key="circuits-courts", axis_key="egalim",
        title="Développer les circuits courts et le local", kind="moyens")
    run("define_indicator", **p, spec={
        "key": "egalim_share", "objective_key": "egalim-criteres", "name": "Part des labels EGalim",
        "kind": "quantitative", "unit": "%", "baseline": 22, "direction": "increase",
        "trajectory": [{"from": "2022-01-01", "target": 35}, {"from": "2023-01-01", "target": 50}],
        "periodicity": "semestrial", "scope": "member", "aggregation": "weighted_mean"})
    run("define_indicator", **p, spec={
        "key": "siqo_list", "objective_key": "circuits-courts", "name": "Suivi de la liste de produits SIQO",
        "kind": "qualitative", "periodicity": "semestrial", "scope": "groupement"})
    run("add_axis", **p, key="environnement", title="Réduire les externalités négatives environnementales",
        description="Gaspillage, transport et livraisons, emballages, saisonnalité")
    for key, title, kind in [
        ("livraisons", "Passer de deux à une livraison par semaine", "resultats"),
        ("gaspillage", "Agir sur le gaspillage alimentaire", "moyens"),
        ("dechets", "Réduire les déchets de fabrication", "moyens"),
        ("eau", "Baisser la consommation d'eau", "resultats"),
    ]:
        run("add_objective", **p, key=key, axis_key="environnement", title=title, kind=kind)
    for spec in [
        ("deliveries_per_week", "livraisons", "Nombre de passages par semaine", "passages", 2, 1, "decrease", "mean"),
        ("basket_per_delivery", "livraisons", "Panier moyen par passage", "€ HT", 180, 360, "increase", "mean"),
        ("price_per_delivery", "livraisons", "Prix moyen par passage", "€ HT", 25, 15, "decrease", "mean"),
        ("waste_weight", "gaspillage", "Poids des déchets par lycée", "kg", 900, 700, "decrease", "mean"),
    ]:
        run("define_indicator", **p, spec={
            "key": spec[0], "objective_key": spec[1], "name": spec[2], "kind": "quantitative", "unit": spec[3],
            "baseline": spec[4], "target": spec[5], "direction": spec[6], "periodicity": "semestrial",
            "scope": "member", "aggregation": spec[7]})
    run("define_indicator", **p, spec={
        "key": "water_use", "objective_key": "eau", "name": "Consommation d'eau de fabrication",
        "kind": "quantitative", "unit": "m³", "baseline": 1200, "target": 1000, "direction": "decrease",
        "periodicity": "semestrial", "scope": "groupement", "aggregation": "sum"})
    actions = [
        ("sourcing-local", "egalim", "Sourcing des producteurs locaux EGalim-compatibles", "titulaire", "2022-12-31"),
        ("info-chefs", "egalim", "Information des chefs de cuisine", "titulaire", "2022-06-30"),
        ("formation-chefs", "egalim", "Formation des chefs de cuisine", "titulaire", "2023-06-30"),
        ("reseau-chefs", "egalim", "Animation du réseau des chefs de cuisine", "acheteur", "2023-12-31"),
        ("reseau-gestionnaires", "egalim", "Animation du réseau des gestionnaires", "acheteur", "2023-12-31"),
        ("sensibilisation", "egalim", "Sensibilisation des convives", "acheteur", "2023-06-30"),
        ("reorganiser-livraisons", "environnement", "Discussion avec les cuisiniers pour réorganiser les livraisons",
         "joint", "2022-12-31"),
        ("emballages", "environnement", "Neutralité des emballages et réduction des déchets en amont",
         "titulaire", "2023-12-31"),
        ("revue-marche", "environnement", "Revue de marché", "acheteur", "2022-06-30"),
        ("equipes-educatives", "environnement", "Associer les équipes éducatives", "acheteur", "2023-06-30"),
        ("harmonisation-menus", "environnement", "Harmonisation des menus sur le secteur", "acheteur", "2023-09-30"),
        ("plaisir-cantine", "environnement", "Action plaisir à la cantine", "acheteur", "2023-03-31"),
    ]
    for key, axis, title, owner, due in actions:
        owner_org = s.titulaire if owner == "titulaire" else s.region if owner == "acheteur" else None
        run("plan_action", **p, key=key, axis_key=axis, title=title, owner=owner, due_on=due,
            owner_organisation_id=owner_org)
    run("commit_resource", **p, party="titulaire", description="Un chargé de sourcing local à mi-temps",
        amount="18000")
    run("commit_resource", **p, party="acheteur", description="Animation des réseaux par l'acheteur BOF (0,2 ETP)",
        amount="9000")
    run("commit_resource", **p, party="joint", description="Deux demi-journées de formation par an")
    for key, title, due in [("bilan-s1-2022", "Bilan semestriel S1 2022", "2022-07-05"),
                            ("bilan-s2-2022", "Bilan semestriel S2 2022", "2023-01-10"),
                            ("bilan-s1-2023", "Bilan semestriel S1 2023", "2023-07-06"),
                            ("bilan-final", "Bilan final du plan de progrès", "2024-01-15")]:
        run("schedule_milestone", **p, key=key, title=title, due_on=due)
    run("define_gain_sharing", **p, basis="Économies logistiques de la réduction du nombre de livraisons",
        reference="Coût logistique constaté en 2021", period_months=12,
        shares={"titulaire": 50, "acheteur": 50}, member_split="purchase_volume", settlement="price_reduction")
    run("define_governance", **p, body="Comité de pilotage du plan de progrès",
        participants=["acheteur BOF de la Région", "chefs de cuisine", "gestionnaires", "titulaire"],
        review_frequency_months=6)
    for index, member in enumerate([*s.lycees, s.late_lycee]):
        run("declare_purchase_volume", **p, member_id=member, amount=str(60000 + 5000 * index))


TITULAIRE_INDICATORS = ("deliveries_per_week", "basket_per_delivery", "price_per_delivery")


def record_semester(run: Any, s: SeedScenario, semester: int, members: list[str], declared_on: date) -> None:
    """Each member records its own measures; the titulaire records the delivery figures."""
    period = SEMESTERS[semester]
    for index, member in enumerate(members):
        for key, series in MEMBER_SERIES.items():
            by = s.titulaire if key in TITULAIRE_INDICATORS else member
            s.measures.append(run(
                "record_measure", plan_id=s.plan, indicator_key=key, member_id=member,
                period_start=period.start, period_end=period.end, value=value_for(index, series, semester),
                source="relevé du titulaire" if by == s.titulaire else "pesées et factures du lycée",
                recorded_by=by, declared_on=declared_on,
            ))
    s.measures.append(run(
        "record_measure", plan_id=s.plan, indicator_key="water_use", member_id=None, period_start=period.start,
        period_end=period.end, value=WATER_USE[semester], source="compteurs de l'usine",
        recorded_by=s.titulaire, declared_on=declared_on,
    ))
    s.measures.append(run(
        "record_measure", plan_id=s.plan, indicator_key="siqo_list", member_id=None, period_start=period.start,
        period_end=period.end, assessment=SIQO_ASSESSMENTS[semester], source="revue de la liste SIQO",
        recorded_by=s.region, declared_on=declared_on,
    ))


def hold_review(run: Any, s: SeedScenario, title: str, on: str, points: list[tuple[str, str, str, str]],
                decisions: list[tuple[str, str, str]]) -> str:
    review = run("schedule_review", plan_id=s.plan, title=title, scheduled_on=on)
    s.reviews.append(review)
    run("hold_review", review_id=review, held_on=on, minutes=document(f"compte-rendu-{on}.pdf"), participants=[
        {"name": "Thibaut G.", "function": "buyer", "organisation_id": s.region},
        {"name": "Chef de cuisine du lycée Béhal", "function": "cook", "organisation_id": s.lycees[0]},
        {"name": "Gestionnaire du lycée Condorcet", "function": "gestionnaire", "organisation_id": s.lycees[1]},
        {"name": "Élue en charge des lycées", "function": "elected_official", "organisation_id": s.region},
        {"name": "Responsable grands comptes", "function": "supplier", "organisation_id": s.titulaire},
    ])
    for kind, text, name, function in points:
        run("raise_point", review_id=review, kind=kind, text=text, raised_by={"name": name, "function": function})
    for proposal, outcome, reasons in decisions:
        run("decide", review_id=review, proposal_id=s.proposals[proposal], outcome=outcome, reasons=reasons)
    run("close_review", review_id=review, on=on)
    return review


def run_execution(run: Any, s: SeedScenario) -> None:
    p = {"plan_id": s.plan}
    run("change_action_status", **p, key="revue-marche", status="done", on="2022-03-15")
    run("change_action_status", **p, key="info-chefs", status="in_progress", on="2022-02-01")
    run("change_action_status", **p, key="sourcing-local", status="in_progress", on="2022-02-15")
    run("change_action_status", **p, key="reorganiser-livraisons", status="in_progress", on="2022-03-01")
    record_semester(run, s, 0, s.lycees, date(2022, 7, 1))
    s.proposals["une-livraison"] = run(
        "submit_proposal", **p, author_id=s.titulaire, axis_key="environnement", kind="service_improvement",
        title="Passer de deux à une livraison par semaine",
        content="Regrouper les livraisons sur un passage hebdomadaire avec un panier plus important.",
        expected_impact="Moitié moins de passages, panier moyen doublé, moins de transport",
        expected_gain="12000", submitted_on="2022-05-20")
    s.proposals["emballages-coupe"] = run(
        "submit_proposal", **p, author_id=s.lycees[1], axis_key="environnement", kind="sur_qualite_reduction",
        title="Supprimer le suremballage des fromages à la coupe",
        content="Livrer les fromages à la coupe en bacs consignés plutôt qu'en portions filmées.",
        expected_impact="Moins de déchets plastiques en cuisine", expected_gain="2500", submitted_on="2022-06-01")
    run("change_action_status", **p, key="info-chefs", status="done", on="2022-06-20")
    hold_review(run, s, "Bilan semestriel S1 2022", "2022-07-05", [
        ("constraint", "Les œufs frais pour les omelettes demandent un temps de préparation conséquent.",
         "Chef de cuisine du lycée Béhal", "cook"),
        ("constraint", "Une seule livraison par semaine suppose une chambre froide plus grande.",
         "Gestionnaire du lycée Condorcet", "gestionnaire"),
        ("need", "Les élus souhaitent suivre la part de produits locaux lycée par lycée.",
         "Élue en charge des lycées", "elected_official"),
    ], [("une-livraison", "postponed", "Capacité de stockage à vérifier dans chaque lycée avant de décider"),
        ("emballages-coupe", "accepted", "Gain de déchets immédiat, sans surcoût pour le titulaire")])
    run("change_action_status", **p, key="reorganiser-livraisons", status="done", on="2022-12-15")
    run("change_action_status", **p, key="sourcing-local", status="done", on="2022-12-20")
    run("change_action_status", **p, key="plaisir-cantine", status="in_progress", on="2022-10-01")
    record_semester(run, s, 1, [*s.lycees, s.late_lycee], date(2023, 1, 5))
    s.proposals["oeufs-plein-air"] = run(
        "submit_proposal", **p, author_id=s.titulaire, axis_key="egalim", kind="innovation",
        title="Œufs plein air Label rouge en remplacement des œufs standard",
        content="Basculer 100 % des œufs coquille vers une filière plein air Label rouge régionale.",
        expected_impact="Hausse de la part EGalim de 4 points", expected_gain="-9000", submitted_on="2022-11-15")
    hold_review(run, s, "Bilan semestriel S2 2022", "2023-01-10", [
        ("difficulty", "Les ruptures de Maroilles AOP désorganisent les menus.", "Chef de cuisine du lycée Béhal",
         "cook"),
        ("idea", "Mutualiser une chambre froide entre deux lycées voisins.", "Gestionnaire du lycée Condorcet",
         "gestionnaire"),
    ], [("une-livraison", "accepted", "Capacité de stockage vérifiée ; économies logistiques partagées à 50/50"),
        ("oeufs-plein-air", "rejected", "Surcoût non soutenable à budget constant ; à revoir au prochain marché")])
    avenant_logistics(run, s)
    run("change_action_status", **p, key="plaisir-cantine", status="done", on="2023-03-31")
    run("change_action_status", **p, key="formation-chefs", status="in_progress", on="2023-02-01")
    run("change_action_status", **p, key="harmonisation-menus", status="in_progress", on="2023-03-01")
    record_semester(run, s, 2, [*s.lycees, s.late_lycee], date(2023, 6, 30))
    run("correct_measure", measure_id_=s.measures[-3], value="764.0",
        reason="Pesée du mois de mai saisie deux fois", corrected_by=s.late_lycee, corrected_on="2023-06-30")
    run("release_member", groupement_id=s.groupement, organisation_id=s.late_lycee, on="2023-07-01")
    hold_review(run, s, "Bilan semestriel S1 2023", "2023-07-06", [
        ("need", "Les convives demandent à être consultés sur les menus.", "Élue en charge des lycées",
         "elected_official"),
    ], [])
    avenant_new_axis(run, s)
    run("change_action_status", **p, key="formation-chefs", status="done", on="2023-06-30")
    run("change_action_status", **p, key="harmonisation-menus", status="done", on="2023-10-15")
    run("change_action_status", **p, key="equipes-educatives", status="cancelled", on="2023-09-01",
        note="Reporté au prochain marché faute de disponibilité des équipes")
    run("change_action_status", **p, key="emballages", status="in_progress", on="2023-05-01")
    # The lycée that left on 2023-07-01 records nothing for the second half of 2023.
    record_semester(run, s, 3, s.lycees, date(2024, 1, 8))
    hold_review(run, s, "Bilan final du plan de progrès", "2024-01-15", [
        ("need", "Intégrer la satisfaction des convives dès le prochain cahier des charges.",
         "Thibaut G.", "buyer"),
    ], [])
    run("close_plan_with_bilan_final", **p, on="2024-01-15", document=document("bilan-final-plan-bof.pdf"),
        summary="Deux ans de plan de progrès : une livraison par semaine, part EGalim proche de 50 %, "
                "déchets en baisse, un axe satisfaction des convives ajouté par avenant.")
    run("close_marche", marche_id=s.marche, on="2024-01-31")


def avenant_logistics(run: Any, s: SeedScenario) -> None:
    """The decision to deliver once a week changes the financial conditions: an avenant follows."""
    run("propose_avenant", marche_id=s.marche, basis="R2194-1", proposal_id=s.proposals["une-livraison"],
        reason="Passage à une livraison hebdomadaire : économies logistiques partagées par baisse de prix",
        changes={"amount_delta": "-12000.00"}, on="2023-01-20")
    run("sign_avenant", marche_id=s.marche, number=1, signed_on="2023-02-01", document=document("avenant-1.pdf"))
    run("notify_avenant", marche_id=s.marche, number=1, notified_on="2023-02-06")


def avenant_new_axis(run: Any, s: SeedScenario) -> None:
    """The axis left out at first (convives' satisfaction) enters the plan by avenant."""
    run("propose_avenant", marche_id=s.marche, basis="R2194-1",
        reason="Ajout de l'axe satisfaction des convives, laissé de côté au lancement du marché",
        changes={"amount_delta": "28000.00", "plan_changes": [
            {"kind": "add_axis", "key": "satisfaction", "title": "Améliorer la satisfaction des convives"}]},
        on="2023-07-10")
    run("sign_avenant", marche_id=s.marche, number=2, signed_on="2023-07-20", document=document("avenant-2.pdf"))
    run("notify_avenant", marche_id=s.marche, number=2, notified_on="2023-07-25")


def summarise(app: Progres, s: SeedScenario) -> dict[str, Any]:
    """The figures the demo prints: what the plan brought, from the aggregates the scenario wrote."""
    from progres.projections.aggregation import achievement, aggregate  # noqa: PLC0415

    plan, groupement, marche = app.plan_context(s.plan)
    measures = [app.measure(m) for m in dict.fromkeys(s.measures)]
    indicators = []
    for indicator in plan.indicators.values():
        if not indicator.is_quantitative:
            last = [m for m in measures if m.indicator_key == indicator.key][-1]
            indicators.append({"name": indicator.name, "unit": "", "first": "", "last": last.assessment or "",
                               "target": "(qualitatif)", "achievement": ""})
            continue
        by_period: dict[Period, list[tuple[Any, Decimal]]] = {}
        for m in measures:
            if m.indicator_key == indicator.key and m.value is not None:
                by_period.setdefault(m.period, []).append((m.member_id, m.value))
        periods = sorted(by_period)
        first = aggregate(indicator.aggregation, by_period[periods[0]], plan.purchase_volumes)
        last = aggregate(indicator.aggregation, by_period[periods[-1]], plan.purchase_volumes)
        target = indicator.target_on(periods[-1].end)
        indicators.append({"name": indicator.name, "unit": indicator.unit, "first": first, "last": last,
                           "target": target, "achievement": achievement(indicator.baseline, target, last)})
    proposals = [app.proposal(p) for p in s.proposals.values()]
    return {
        "groupement": groupement.name, "members": len({m.organisation_id for m in groupement.memberships}),
        "marche": f"{marche.code} — {marche.object}", "initial_amount": marche.initial_amount,
        "current_amount": marche.current_amount, "cumulative_change_percent": marche.cumulative_change_percent,
        "avenants": [a.summary() for a in marche.avenants],
        "axes": [a.title for a in plan.axes.values()], "indicators": indicators,
        "actions_done": sum(1 for a in plan.actions.values() if a.status.value == "done"),
        "actions": len(plan.actions),
        "proposals": {p.title: p.status for p in proposals}, "reviews": len(s.reviews),
        "measures": len(set(s.measures)), "plan_closed": plan.is_closed,
    }
