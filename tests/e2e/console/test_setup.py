"""The coordonnateur sets up a plan through the console's pages, in a real Chromium against a real `progres serve` on
PostgreSQL: a marché notified for the seed's groupement, its plan drawn up, then an axis, an objective, an indicator
with its target and trajectory (French numbers and dates), an action; a lycée then finds the indicator on its
dashboard. Refusals (the page's own checks and the API's) are shown next to their field with their code, nothing
written; a lycée cannot reach the setup pages (403) nor write through them."""

from __future__ import annotations

import re

import pytest

from progres.domain.values import siret_with_key

from .conftest import sign_in
from .test_accessibility import violations

pytestmark = pytest.mark.postgres


def submit(page, button: str, done: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(rf".*[?&]quoi={done}\b.*"))


def refused(page, button: str, field: str) -> str:
    page.get_by_role("button", name=button).click()
    page.wait_for_selector(f"#{field}-error")
    return page.inner_text(f"#{field}-error")


def fill(page, fields: dict[str, str]) -> None:
    """Each field by its id: a choice in a list, or text typed."""
    for name, value in fields.items():
        if page.eval_on_selector(f"#{name}", "e => e.tagName") == "SELECT":
            page.select_option(f"#{name}", value)
        elif value == "on":
            page.check(f"#{name}")
        else:
            page.fill(f"#{name}", value)


def set_up(page, step: str, button: str, fields: dict[str, str]) -> None:
    """One form of the setup page filled and sent; the page read again after the write."""
    fill(page, fields)
    submit(page, button, step)


def notify_and_draw_up(page, console, marche: dict[str, str], title: str) -> tuple[str, str]:
    """From the coordonnateur's home page: a marché notified for the seed's groupement, then its plan drawn up;
    the marché's id and the plan's."""
    page.goto(f"{console.url}/")
    page.click("text=Notifier un marché")
    fill(page, marche)
    page.get_by_role("button", name="Notifier le marché").click()
    page.wait_for_url(re.compile(r".*/marches/[^/]+/plan/nouveau\?fait=\d+"))
    marche_id = re.search(r"/marches/([^/]+)/plan", page.url).group(1)  # type: ignore[union-attr]
    page.fill("#plan_title", title)
    page.get_by_role("button", name="Dresser le plan").click()
    page.wait_for_url(re.compile(r".*/plans/[^/]+/mise-en-place\?fait=\d+&quoi=plan"))
    return marche_id, re.search(r"/plans/([^/]+)/mise-en-place", page.url).group(1)  # type: ignore[union-attr]


def test_the_coordonnateur_sets_up_a_plan_and_a_lycee_sees_its_indicator(console, page):
    s = console.scenario
    checked: dict[str, list[str]] = {}
    sign_in(page, console, s.region, "coordonnateur")

    # A marché notified for the seed's groupement (French amount and dates); a wrong amount first, nothing written.
    page.click("text=Notifier un marché")
    checked["notify a marché"] = violations(page)
    page.fill("#marche_code", "2024-BOF-02")
    page.fill("#marche_object", "Fourniture de fromages pour les lycées du bassin de Lens")
    page.fill("#marche_cpv", "15500000-3")
    page.select_option("#marche_nature", "fournitures")
    page.select_option("#marche_titulaire", s.titulaire)
    page.fill("#marche_amount", "cent vingt mille")
    page.fill("#marche_months", "24")
    page.fill("#marche_notified_on", "01/01/2024")
    page.fill("#marche_launched_on", "15/10/2023")
    head = console.log_head()
    assert "n'est pas un nombre" in refused(page, "Notifier le marché", "marche_amount")
    assert page.get_attribute("#marche_amount", "aria-invalid") == "true"
    assert page.input_value("#marche_object").startswith("Fourniture de fromages")  # kept for the correction
    checked["notify a marché, with errors"] = violations(page)
    assert console.log_head() == head
    page.fill("#marche_amount", "120 000,00")
    page.get_by_role("button", name="Notifier le marché").click()
    page.wait_for_url(re.compile(r".*/marches/[^/]+/plan/nouveau\?fait=\d+"))
    assert "Marché notifié" in page.inner_text("[role=status]")
    checked["draw up a plan"] = violations(page)

    # Its plan drawn up, then set up piece by piece.
    page.fill("#plan_title", "Plan de progrès fromages des lycées de Lens")
    page.get_by_role("button", name="Dresser le plan").click()
    page.wait_for_url(re.compile(r".*/plans/[^/]+/mise-en-place\?fait=\d+&quoi=plan"))
    plan = re.search(r"/plans/([^/]+)/mise-en-place", page.url).group(1)  # type: ignore[union-attr]
    assert "Plan dressé" in page.inner_text("[role=status]")
    assert "Ajoutez d'abord un axe." in page.inner_text("main")
    checked["plan setup (empty)"] = violations(page)

    page.fill("#axis_title", "Réduire le gaspillage alimentaire")
    page.fill("#axis_description", "Pesées, menus, portions")
    submit(page, "Ajouter l'axe", "axis")
    assert "Axe ajouté" in page.inner_text("[role=status]")
    # The same key again: the API's refusal, next to the key, with its code; nothing written.
    head = console.log_head()
    page.fill("#axis_title", "Autre axe")
    page.fill("#axis_key", "reduire-le-gaspillage-alimentaire")
    assert "(duplicate_key)" in refused(page, "Ajouter l'axe", "axis_key")
    assert console.log_head() == head

    page.select_option("#objective_axis", "reduire-le-gaspillage-alimentaire")
    page.fill("#objective_title", "Peser les déchets chaque semaine")
    page.select_option("#objective_kind", "resultats")
    submit(page, "Ajouter l'objectif", "objective")

    page.select_option("#indicator_objective", "peser-les-dechets-chaque-semaine")
    page.fill("#indicator_name", "Poids des déchets de fromage")
    page.fill("#indicator_key", "fromage_dechets")
    page.select_option("#indicator_kind", "quantitative")
    page.select_option("#indicator_direction", "decrease")
    page.select_option("#indicator_aggregation", "mean")
    page.select_option("#indicator_periodicity", "semestrial")
    page.select_option("#indicator_scope", "member")
    page.fill("#indicator_baseline", "1 200")
    page.fill("#indicator_target", "beaucoup")
    page.fill("#indicator_step1_from", "01/01/2024")
    page.fill("#indicator_step1_target", "1 000,5")
    head = console.log_head()
    # The page's own check (a French decimal), then the API's (a quantitative indicator needs its unit).
    assert "« beaucoup » n'est pas un nombre" in refused(page, "Définir l'indicateur", "indicator_target")
    checked["plan setup, with errors"] = violations(page)
    page.fill("#indicator_target", "800,5")
    unit_refused = refused(page, "Définir l'indicateur", "indicator_unit")
    assert "(invalid_input)" in unit_refused
    assert "unit" in unit_refused
    # Steps out of order: the API's refusal, next to the trajectory.
    page.fill("#indicator_unit", "kg")
    page.fill("#indicator_step2_from", "01/06/2023")
    page.fill("#indicator_step2_target", "900")
    assert "(invalid_indicator)" in refused(page, "Définir l'indicateur", "indicator_step1_from")
    assert console.log_head() == head
    page.fill("#indicator_step2_from", "01/01/2025")
    submit(page, "Définir l'indicateur", "indicator")
    tree = page.inner_text("section[aria-labelledby=etat]")
    assert "Indicateur « fromage_dechets » : Poids des déchets de fromage (cible 800,5\u00a0kg)" in tree

    page.select_option("#action_axis", "reduire-le-gaspillage-alimentaire")
    page.fill("#action_title", "Peser les restes chaque vendredi")
    page.select_option("#action_owner", "acheteur")
    page.select_option("#action_organisation", s.region)
    page.fill("#action_due_on", "30/06/2024")
    submit(page, "Prévoir l'action", "action")
    assert "Action prévue" in page.inner_text("[role=status]")
    assert "Action : Peser les restes chaque vendredi (portée par : acheteur ; échéance : 30 juin 2024)" in \
        page.inner_text("section[aria-labelledby=etat]")
    checked["plan setup (filled)"] = violations(page)

    page.click("text=Voir l'arbre complet du plan")
    indicators = page.get_by_role("table", name=re.compile("Peser les déchets chaque semaine")).inner_text()
    assert re.search(r"Poids des déchets de fromage\s+1\u202f200\u00a0kg\s+800,5\u00a0kg", indicators)
    assert "1\u202f000,5\u00a0kg à partir du 1er janvier 2024 ; 900\u00a0kg à partir du 1er janvier 2025" in indicators
    actions = page.get_by_role("table", name=re.compile("Actions de l.axe : Réduire le gaspillage")).inner_text()
    assert re.search(r"Peser les restes chaque vendredi\s+acheteur\s+30 juin 2024", actions)

    # A lycée, party to the new marché, finds the indicator on its dashboard; the setup pages are not its own.
    page.context.clear_cookies()
    sign_in(page, console, s.lycees[0], "acheteur")
    assert "Mettre en place le plan" not in page.inner_text("main")
    assert "Notifier un marché" not in page.inner_text("main")
    page.goto(f"{console.url}/plans/{plan}/tableau-de-bord")
    assert "Poids des déchets de fromage" in page.inner_text("main")
    token = page.get_attribute("input[name=csrf]", "value")
    for path in (f"/plans/{plan}/mise-en-place", f"/groupements/{s.groupement}/marches/nouveau"):
        answer = page.goto(f"{console.url}{path}")
        assert answer is not None
        assert answer.status == 403
        assert "Accès refusé" in page.inner_text("h1")
    checked["plan setup refused to a lycée (403)"] = violations(page)
    head = console.log_head()
    posted = page.request.post(f"{console.url}/plans/{plan}/mise-en-place/axis",
                               form={"csrf": token or "", "axis_title": "Axe du lycée"})
    assert posted.status == 403
    posted = page.request.post(f"{console.url}/plans/{plan}/mise-en-place/axis", form={"axis_title": "Sans jeton"})
    assert posted.status == 403
    assert "Formulaire refusé" in posted.text()
    assert console.log_head() == head

    assert {name: found for name, found in checked.items() if found} == {}


def test_the_coordonnateur_constitutes_a_groupement_registers_and_admits_a_member(console, page):
    s = console.scenario
    checked: dict[str, list[str]] = {}
    sign_in(page, console, s.region, "coordonnateur")
    page.click("text=Constituer un groupement")
    checked["constitute a groupement"] = violations(page)
    fill(page, {"groupement_code": "GC-FRUITS-ARRAS", "groupement_name": "Groupement fruits et légumes d'Arras",
                "groupement_purpose": "Achat de fruits et légumes pour les lycées d'Arras",
                "groupement_signed_on": "15/06/2023", "groupement_clause": "ends_at_withdrawal"})
    head = console.log_head()
    # Without its convention: the API's refusal next to the file, with its code; nothing written.
    assert "(convention_required)" in refused(page, "Constituer le groupement", "groupement_convention")
    checked["constitute a groupement, with errors"] = violations(page)
    assert console.log_head() == head
    page.set_input_files("#groupement_convention", files=[{"name": "convention.pdf", "mimeType": "application/pdf",
                                                           "buffer": b"%PDF-1.4\n% convention\n"}])
    page.get_by_role("button", name="Constituer le groupement").click()
    page.wait_for_url(re.compile(r".*/groupements/[^/]+/membres\?fait=\d+&quoi=groupement"))
    assert "Groupement constitué" in page.inner_text("[role=status]")
    groupement = re.search(r"/groupements/([^/]+)/membres", page.url).group(1)  # type: ignore[union-attr]

    # A lycée registered (a wrong SIRET first), then admitted on its deliberation.
    siret = siret_with_key("1962001990001")
    fill(page, {"organisation_siret": siret[:13] + str((int(siret[13]) + 1) % 10),
                "organisation_name": "Lycée Gambetta (Arras)", "organisation_kind": "eple"})
    head = console.log_head()
    assert "(invalid_siret)" in refused(page, "Enregistrer l'organisation", "organisation_siret")
    assert console.log_head() == head
    page.fill("#organisation_siret", f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}")
    page.get_by_role("button", name="Enregistrer l'organisation").click()
    page.wait_for_url(re.compile(r".*quoi=organisation.*"))
    assert "Organisation enregistrée" in page.inner_text("[role=status]")
    fill(page, {"member_organisation": page.eval_on_selector(
        "#member_organisation option:text('Lycée Gambetta (Arras)')", "o => o.value"),
        "member_on": "01/09/2023", "member_decided_on": "20/06/2023"})
    head = console.log_head()
    assert "(adhesion_decision_required)" in refused(page, "Faire adhérer", "member_decision")
    checked["members, with errors"] = violations(page)
    assert console.log_head() == head
    page.set_input_files("#member_decision", files=[{"name": "deliberation.pdf", "mimeType": "application/pdf",
                                                     "buffer": b"%PDF-1.4\n% deliberation\n"}])
    page.get_by_role("button", name="Faire adhérer").click()
    page.wait_for_url(re.compile(r".*quoi=member.*"))
    assert "Membre admis" in page.inner_text("[role=status]")
    assert re.search(r"Lycée Gambetta \(Arras\)\s+1er septembre 2023\s+—",
                     page.get_by_role("table", name="Membres du groupement").inner_text())
    checked["members"] = violations(page)

    # The lycée, signed in, finds its groupement; its members page is the coordonnateur's only.
    page.context.clear_cookies()
    page.goto(f"{console.url}/connexion")
    page.check(f"input[name=identity][value='{siret}|acheteur']")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{console.url}/")
    assert "Groupement fruits et légumes d'Arras" in page.inner_text("main")
    for path in (f"/groupements/{groupement}/membres", "/groupements/nouveau"):
        answer = page.goto(f"{console.url}{path}")
        assert answer is not None
        assert answer.status == 403
    assert {name: found for name, found in checked.items() if found} == {}
