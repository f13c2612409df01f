"""The `progres` command line: thin commands that translate arguments and delegate to services.

Messages are in French; refusals go to stderr as `code: field: message` with exit code 2 (services/cli_support.py).
Reads, reports and exports take `--as SIRET --role ROLE` and go through the API's access policy.
"""

from __future__ import annotations

import contextlib
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from progres.domain.errors import DomainError
from progres.services import french
from progres.services.audit_cli import register as register_audit_commands
from progres.services.bootstrap import bootstrap
from progres.services.cli_support import (
    AsOption,
    Reader,
    Refused,
    RoleOption,
    audience,
    err_console,
    parse_time,
    read_moment,
    require_store,
    run,
    say,
    short,
)
from progres.services.commands import Progres
from progres.services.read_models import ReadModels
from progres.services.reports.labels import status as status_label
from progres.services.settings import Settings

app = typer.Typer(help="progres : le plan de progrès d'un groupement de commandes, en événements immuables.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
console = Console()

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="dossier du dépôt SQLite intégré")]


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def open_app(data_dir: Path | None) -> tuple[Settings, Progres]:
    """The application on an existing store (only `init` and `demo` create one)."""
    settings = settings_for(data_dir)
    require_store(settings)
    return settings, bootstrap(settings)


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Crée le dépôt d'événements (ses tables) s'il n'existe pas encore."""
    settings = settings_for(data_dir)
    progres = bootstrap(settings)
    head = progres.max_notification_id() or 0
    console.print(f"[green]Dépôt prêt[/] : {settings.describe_store()} — {head} événements.")


@app.command()
def demo(
    data_dir: DataDir = None,
    reset: Annotated[bool, typer.Option(help="repartir d'un dépôt SQLite vide (supprime le fichier de la démo)")]
    = False,
) -> None:
    """Joue l'histoire de la graine : les lycées de Lens, le marché « Beurre Œuf Fromage » et son plan de progrès."""
    from progres.services.demo import run_seed_scenario, summarise  # noqa: PLC0415 - only this command needs it

    settings = settings_for(data_dir)
    if reset and settings.store == "sqlite" and settings.sqlite_path.exists():
        settings.sqlite_path.unlink()
    progres = bootstrap(settings)
    if progres.max_notification_id():
        raise Refused("store_not_empty", "--data-dir", say("store_not_empty", store=settings.describe_store()))
    started = time.perf_counter()
    with console.status("Lecture du scénario de la graine (2 ans d'un plan de progrès)…"):
        scenario = run_seed_scenario(progres)
    elapsed = time.perf_counter() - started
    print_summary(summarise(progres, scenario))
    events = progres.max_notification_id() or 0
    console.print(f"\n[bold]{scenario.commands}[/] commandes ont écrit [bold]{events}[/] événements en "
                  f"[bold]{french.number(round(elapsed, 2))} s[/] sur {settings.describe_store()}.")
    console.print(f"Plan : {scenario.plan} — essayez [bold]progres plan {scenario.plan}[/]")


def print_summary(summary: dict[str, Any]) -> None:
    console.rule(f"[bold]{summary['groupement']}[/]")
    console.print(f"{summary['members']} membres · marché {summary['marche']}")
    console.print(f"Montant HT : {french.money(summary['initial_amount'])} → {french.money(summary['current_amount'])}"
                  f" (évolution cumulée {french.percent(summary['cumulative_change_percent'])})")
    avenants = Table("Avenant", "Fondement", "Δ montant", "Cumul", "Avis CAO", "Notifié", "Motif", title="Avenants")
    avenants.columns[2].no_wrap = True
    for a in summary["avenants"]:
        avenants.add_row(str(a["number"]), a["basis"], french.money(a["amount_delta"]),
                         french.percent(a["cumulative_percent"]), "oui" if a["needs_cao_opinion"] else "non",
                         french.day(a["notified_on"]) if a["notified_on"] else "-", a["reason"])
    console.print(avenants)
    indicators = Table("Indicateur", "Unité", "Première", "Dernière", "Cible", "Atteinte",
                       title="Indicateurs (groupement)")
    for i in summary["indicators"]:
        figures = [french.number(i[k]) if isinstance(i.get(k), Decimal | int | float) else str(i.get(k) or "")
                   for k in ("first", "last", "target")]
        indicators.add_row(i["name"], i["unit"] or "", *figures,
                           french.percent(i["achievement"]) if isinstance(i.get("achievement"), Decimal) else "")
    console.print(indicators)
    proposals = Table("Proposition", "Issue", title="Propositions")
    for title, status in summary["proposals"].items():
        proposals.add_row(title, status_label(status))
    console.print(proposals)
    console.print(f"Axes : {'; '.join(summary['axes'])}")
    console.print(f"Actions réalisées : {summary['actions_done']}/{summary['actions']} · revues tenues : "
                  f"{summary['reviews']} · mesures : {summary['measures']} · bilan final : "
                  f"{'clos' if summary['plan_closed'] else 'ouvert'}")


@app.command()
def groupements(as_siret: AsOption = None, role: RoleOption = None, data_dir: DataDir = None) -> None:
    """Liste les groupements (ceux que l'organisation de --as peut lire)."""
    actor = audience(as_siret, role)
    settings, progres = open_app(data_dir)
    readable = Reader(ReadModels.open(progres, settings), actor).groupements()
    table = Table("Id", "Code", "Nom", "Membres", title="Groupements")
    for groupement in progres.list_groupements():
        if readable is not None and str(groupement.id) not in readable:
            continue
        active = len({m.organisation_id for m in groupement.memberships if m.left_on is None})
        table.add_row(str(groupement.id), groupement.code, groupement.name, str(active))
    console.print(table)


@app.command()
def plan(plan_id: str, as_siret: AsOption = None, role: RoleOption = None, data_dir: DataDir = None) -> None:
    """Montre un plan de progrès : axes, objectifs, indicateurs et actions."""
    actor = audience(as_siret, role)
    settings, progres = open_app(data_dir)
    if actor is not None:
        Reader(ReadModels.open(progres, settings), actor).plan(plan_id)
    the_plan = progres.plan(plan_id)
    tree = Tree(f"[bold]{the_plan.title}[/]{' (clos par son bilan final)' if the_plan.is_closed else ''}")
    for axis in the_plan.axes.values():
        branch = tree.add(f"[bold cyan]{axis.title}[/]" + (f" (avenant {axis.added_by_avenant})"
                                                           if axis.added_by_avenant else ""))
        for objective in (o for o in the_plan.objectives.values() if o.axis_key == axis.key):
            node = branch.add(f"{objective.title} [dim]({objective.kind.value})[/]")
            for ind in (i for i in the_plan.indicators.values() if i.objective_key == objective.key):
                target = f"{ind.baseline} → {ind.target} {ind.unit}" if ind.is_quantitative else "qualitatif"
                node.add(f"[green]{ind.name}[/] [dim]{target}, {ind.scope.value}, {ind.periodicity.value}[/]")
        for action in (a for a in the_plan.actions.values() if a.axis_key == axis.key):
            branch.add(f"[yellow]action[/] {action.title} [dim]({action.owner.value}, échéance {action.due_on}, "
                       f"{action.status.value})[/]")
    console.print(tree)


@app.command()
def history(aggregate_id: str, as_siret: AsOption = None, role: RoleOption = None, data_dir: DataDir = None) -> None:
    """Chaque événement d'un agrégat (groupement, marché, plan, mesure, proposition, revue)."""
    actor = audience(as_siret, role)
    settings, progres = open_app(data_dir)
    Reader(ReadModels.open(progres, settings), actor).history(aggregate_id)
    table = Table("Version", "Enregistré le", "Événement", "Détails", title=f"Historique de {short(aggregate_id)}")
    for event in progres.history(aggregate_id):
        table.add_row(str(event["version"]), event["timestamp"], event["type"], event["details"])
    console.print(table)


projections = typer.Typer(help="Modèles de lecture : état, reconstruction, mise à jour.", no_args_is_help=True)
app.add_typer(projections, name="projections")


def open_read_models(data_dir: Path | None, worker: bool = False) -> tuple[Settings, Progres, ReadModels]:
    settings, progres = open_app(data_dir)
    return settings, progres, ReadModels.open(progres, settings, worker)


@projections.command("status")
def projections_status(data_dir: DataDir = None) -> None:
    """Position des modèles de lecture dans le journal, leur retard sur sa tête, et qui les tient à jour."""
    settings, _, models = open_read_models(data_dir)
    status = models.status()
    console.print(f"{status['projection']} : position {status['position']} sur {status['head']} "
                  f"(retard {status['lag']} événements)")
    for model in models.read_models():
        stored = model["stored_version"]
        console.print(say("model_line", name=model["name"], version=model["version"], table=model["table"],
                          stored=say("model_unrecorded") if stored is None else say("model_unbuilt") if stored == 0
                          else say("model_stored", version=stored),
                          events=french.count(len(model["events"]), "événement consommé", "événements consommés")),
                      highlight=False)
        if model["building"]:
            console.print(say("model_building", version=model["building"], total=french.number(model["total"]),
                              done=french.count(model["done"], "groupement")), highlight=False)
    if settings.store == "postgres":
        from progres.services.workers import workers_of  # noqa: PLC0415

        workers = workers_of(settings, status["projection"])
        if workers["leader"]:
            console.print(f"mené par le processus de projection {workers['leader']} "
                          f"(depuis {workers['leader_since']})", highlight=False)
        else:
            console.print("aucun processus de projection ne le mène"
                          + (" (suivi dans les serveurs)" if settings.follower == "in-process" else ""))
        if workers["standby"]:
            console.print(f"en attente : {', '.join(workers['standby'])}", highlight=False)


@projections.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="nom de la nouvelle génération (défaut : version suivante)")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Reconstruit tous les modèles de lecture depuis tout le journal, à côté de ceux en service, puis bascule."""
    _, progres, models = open_read_models(data_dir)
    head = progres.max_notification_id() or 0
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("Reconstruction des modèles de lecture", total=head)
        result = models.rebuild(name, lambda position, total: bar.update(task, completed=position, total=total))
    console.print(f"[green]{result['projection']}[/] construit à partir de {result['events']} événements en "
                  f"{result['seconds']:.2f} s ; il sert désormais les lectures"
                  + (f" (remplace {result['replaced']})." if result["replaced"] else "."))


@projections.command("run")
def projections_run(
    follow: Annotated[bool, typer.Option(help="continuer et projeter les nouveaux événements à leur arrivée")] = False,
    data_dir: DataDir = None,
) -> None:
    """Met les modèles de lecture à jour du journal (et les y maintient avec --follow).

    Avec --follow sur PostgreSQL, autant de processus que voulu : un seul mène chaque projection (verrou
    consultatif), les autres attendent et prennent la relève s'il meurt. SIGTERM l'arrête proprement."""
    settings, _, models = open_worker_read_models(data_dir) if follow else open_read_models(data_dir)
    if follow and settings.store == "postgres":
        follow_as_worker(settings, models)
        return
    handled = models.runner.catch_up()
    console.print(f"{handled} événements projetés ; retard {models.status()['lag']}.")
    if follow:
        console.print("Suivi du journal (Ctrl-C pour arrêter)…")
        with contextlib.suppress(KeyboardInterrupt):
            models.follow(settings, stop=lambda: False)


WORKER_START_ATTEMPTS = 5  # a worker that cannot open its store after these (about 8 s) says so and exits 2


def open_worker_read_models(data_dir: Path | None) -> tuple[Settings, Progres, ReadModels]:
    """A worker's start, retried with backoff when the database ends its session: a new leader ends the sessions of
    other writers caught inside a transaction (`Lease.depose`), a starting worker's among them, and a database that
    restarts ends every session; once running, a worker retries the same way (ProjectionWorker.run)."""
    import psycopg  # noqa: PLC0415 - the driver is loaded by the read models anyway

    for attempt in range(1, WORKER_START_ATTEMPTS + 1):
        try:
            return open_read_models(data_dir, worker=True)
        except psycopg.OperationalError as error:
            if attempt == WORKER_START_ATTEMPTS:
                raise
            pause = 0.5 * 2 ** (attempt - 1)
            err_console.print(say("worker_start_retry", attempt=attempt, pause=french.number(pause),
                                  reason=str(error).strip()[:200]), highlight=False)
            time.sleep(pause)
    raise AssertionError("unreachable")


def follow_as_worker(settings: Settings, models: ReadModels) -> None:
    """A projection worker until SIGTERM or SIGINT: the batch in progress is committed, the lock released."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from progres.services.observability import configure_logging  # noqa: PLC0415
    from progres.services.workers import ProjectionWorker  # noqa: PLC0415

    configure_logging(settings)  # the same lines as the API's (JSON in production, PROGRES_LOG_FORMAT)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        ProjectionWorker(models, settings).run(stop)
    finally:
        models.close()


bilan_app = typer.Typer(help="Le bilan du plan : le montrer, en faire le rapport, le capitaliser.",
                        invoke_without_command=True)
app.add_typer(bilan_app, name="bilan")
PlanOption = Annotated[str | None, typer.Option("--plan", help="identifiant du plan de progrès")]
RequiredPlan = Annotated[str, typer.Option("--plan", help="identifiant du plan de progrès")]
AsOfOption = Annotated[str | None, typer.Option(help="ancien nom de --as-known-at (un instant ISO 8601)")]
PositionOption = Annotated[str | None, typer.Option(help="position du journal où le reconstituer (1 ou plus) ; "
                                                         "comme --as-known-at POSITION")]
OnOption = Annotated[str | None, typer.Option("--on", help="date métier (aaaa-mm-jj) : le plan tel qu'il était ce "
                                              "jour-là (membres, cibles et avenants en vigueur, périodes achevées)")]
AsKnownAtOption = Annotated[str | None, typer.Option("--as-known-at", help="ce que le journal contenait alors : "
                                                     "instant ISO 8601 (UTC par défaut) ou position du journal")]
REPORT_FORMATS = ("html", "pdf", "csv", "xlsx", "json")


def ledger_for(data_dir: Path | None, plan_id: str, as_of: str | None, position: str | None,
               actor: Any, on: str | None = None, as_known_at: str | None = None) -> tuple[Any, ...]:
    """The plan's ledger now, or on a business date and as known at a time or position, with the organisations'
    directory, for a reader allowed to read the plan. The ledger is None when nothing of the plan was recorded
    at that moment; the notice (code, field, message) says why, and is printed on stderr."""
    from progres.projections.ledger import DIRECTORY  # noqa: PLC0415
    from progres.services.time_axes import plan_at  # noqa: PLC0415

    settings, _, models = open_read_models(data_dir)
    reader = Reader(models, actor)
    parties = reader.plan(plan_id)
    when = read_moment(models, on, as_known_at, as_of, position)
    if when.known_now:
        models.fresh(None)
    at = plan_at(models, plan_id, when)
    if at.notice:
        notify(at.notice)
    directory = models.ledgers([DIRECTORY])[DIRECTORY]
    return settings, at.ledger, directory, reader, parties, (0 if when.known_now else at.position), at


def notify(notice: dict[str, str]) -> None:
    """A notice of a read (not a refusal: the read answers): `code: field: message` on stderr."""
    err_console.print(Text.assemble((notice["code"], "bold yellow"), f": {notice['field']}: {notice['message']}"),
                      soft_wrap=True, highlight=False)


@bilan_app.callback()
def bilan(
    ctx: typer.Context,
    plan_id: PlanOption = None,
    on: OnOption = None,
    as_known_at: AsKnownAtOption = None,
    as_of: AsOfOption = None,
    position: PositionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="le bilan en JSON")] = False,
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """Le bilan du plan : maintenant, ou à une date métier (--on) et tel que le journal le connaissait à un instant
    ou une position (--as-known-at), indépendamment."""
    if ctx.invoked_subcommand is not None:
        return
    if plan_id is None:
        raise Refused("missing_argument", "--plan",
                      say("missing_parameter", param="--plan PLAN_ID (ou une sous-commande : report, capitalisation)"))
    from progres.projections.plan_balance import plan_balance  # noqa: PLC0415
    from progres.services.time_axes import empty_plan_balance  # noqa: PLC0415

    actor = audience(as_siret, role)
    _, ledger, _, reader, parties, _, at = ledger_for(data_dir, plan_id, as_of, position, actor, on, as_known_at)
    balance = at.with_notice(reader.balance(parties, plan_balance(ledger, plan_id)) if ledger is not None
                             else empty_plan_balance(at))
    if as_json:
        print(json.dumps(balance, ensure_ascii=False, indent=2))
        return
    if ledger is not None:
        print_balance(balance)


@bilan_app.command("report")
def bilan_report(
    plan_id: RequiredPlan,
    format: Annotated[str, typer.Option(help="html, pdf, csv (une archive zip d'un fichier par tableau), xlsx ou json")]
    = "html",
    output: Annotated[Path | None, typer.Option(help="fichier à écrire (défaut : bilan-<plan>.<format>, "
                                                     "bilan-<plan>-csv.zip pour csv)")] = None,
    international: Annotated[bool, typer.Option("--international", help="CSV : forme internationale (séparateur , "
                                                "et point décimal, sans BOM) au lieu de la forme française")] = False,
    on: OnOption = None,
    as_known_at: AsKnownAtOption = None,
    as_of: AsOfOption = None,
    position: PositionOption = None,
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """Le rapport de bilan pour les élus et le titulaire, avec sa provenance ; seulement ce que --as peut voir.
    Rien n'est écrit quand rien du plan n'était encore enregistré au moment demandé (l'avis le dit)."""
    from progres.services.audit import link_at  # noqa: PLC0415
    from progres.services.reports import bilan as reports  # noqa: PLC0415

    if format not in REPORT_FORMATS:
        raise Refused("invalid_input", "--format", say("bad_choice", value=short(format, 20),
                                                       choices=", ".join(REPORT_FORMATS)))
    if format == "csv" and output is not None and output.suffix.lower() == ".csv":
        raise Refused("invalid_input", "--output", say("csv_is_zip"))
    if international and format != "csv":
        raise Refused("invalid_input", "--international", say("csv_only"))
    actor = audience(as_siret, role)
    settings, ledger, directory, reader, parties, at, _ = ledger_for(data_dir, plan_id, as_of, position, actor, on,
                                                                     as_known_at)
    if ledger is None:
        return
    report = reports.build_report(ledger, directory, plan_id, link_at(settings, report_position(ledger, at)))
    report = reports.restricted(report, reader.balance(parties, report.balance), reader.visible_members(parties),
                                actor.role.value if actor else None)
    target = output or Path(f"bilan-{plan_id[:8]}-csv.zip" if format == "csv" else f"bilan-{plan_id[:8]}.{format}")
    with console.status(f"Écriture du rapport {format.upper()}…"):
        if format == "html":
            target.write_text(reports.to_html(report), encoding="utf-8")
        elif format == "pdf":
            target.write_bytes(reports.to_pdf(report))
        elif format == "csv":
            target.write_bytes(reports.to_csv(report, international))
        elif format == "xlsx":
            target.write_bytes(reports.to_xlsx(report))
        else:
            target.write_text(json.dumps(reports.to_json(report), ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"Rapport écrit dans {target} (position {report.position} du journal).")


def report_position(ledger: Any, at: int) -> int:
    return min(int(ledger["position"]), at) if at else int(ledger["position"])


@bilan_app.command("capitalisation")
def bilan_capitalisation(
    plan_id: RequiredPlan,
    output: Annotated[Path | None, typer.Option(help="fichier à écrire (Markdown) ; affiché sinon")] = None,
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """Ce que le plan a appris, pour la prochaine consultation : besoins, contraintes, décisions, avenants."""
    from progres.services.reports.capitalisation import capitalisation  # noqa: PLC0415

    actor = audience(as_siret, role)
    _, ledger, directory, _, _, _, _ = ledger_for(data_dir, plan_id, None, None, actor)
    text = capitalisation(ledger, directory, plan_id)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"écrit dans {output}")


def print_balance(balance: dict[str, Any]) -> None:
    kind = "Bilan final" if balance["final"] else "Bilan du plan"
    console.rule(f"[bold]{kind} — {balance['title']}[/] (position {balance['position']} du journal)")
    table = Table("Axe", "Indicateur", "Initiale", "Première", "Dernière", "Cible", "Atteinte", "Statut")
    for axis in balance["axes"]:
        for objective in axis["objectives"]:
            for ind in objective["indicators"]:
                if ind["kind"] == "qualitative":
                    table.add_row(axis["title"], ind["name"], "", "", ind["latest_assessment"] or "-", "", "",
                                  ind["status"])
                else:
                    table.add_row(axis["title"], f"{ind['name']} ({ind['unit']})",
                                  *[french.number(ind[k]) if ind[k] is not None else "" for k in
                                    ("baseline", "first", "last", "target")],
                                  french.percent(ind["achievement"]) if ind["achievement"] else "", ind["status"])
    console.print(table)
    p = balance["proposals"]
    console.print(f"Propositions : {french.count(p['submitted'], 'soumise')}, {french.count(p['accepted'], 'acceptée')}"
                  f", {french.count(p['rejected'], 'rejetée')}, {p['pending']} en attente · revues tenues : "
                  f"{balance['reviews']['held']}")
    m = balance["marche"]
    console.print(f"Marché : {french.money(m['initial_amount'])} → {french.money(m['current_amount'], 'HT')} "
                  f"(évolution cumulée {french.percent(m['cumulative_change_percent'])}) · avenants : "
                  f"{len(balance['avenants'])}")
    gains = balance["gains"]
    console.print(f"Gains attendus des propositions acceptées : {french.money(gains['total'])} — parts : "
                  + ", ".join(f"{party} {french.money(amount)}" for party, amount in gains["parties"].items()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="adresse d'écoute (défaut : PROGRES_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (défaut : PROGRES_PORT)", min=1, max=65535)] = None,
    data_dir: DataDir = None,
) -> None:
    """Sert l'API GraphQL (/graphql, GraphiQL en développement), /health, /ready et /metrics."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from progres.services.app import LocalIdentityRefused, identity_validator  # noqa: PLC0415

    settings = settings_for(data_dir)
    require_store(settings)
    updates: dict[str, Any] = {"host": host or settings.host, "port": port or settings.port}
    settings = settings.model_copy(update=updates)
    try:
        identity_validator(settings)
    except LocalIdentityRefused as refusal:
        raise Refused("refused", None, str(refusal)) from None
    identity = settings.oidc_issuer or "mode d'identité local (jetons de `progres dev-token`)"
    console.print(f"progres sert http://{settings.host}:{settings.port}/graphql ({settings.environment}, "
                  f"{settings.describe_store()}, identité : {identity})")
    # Logs: structured, one access line per request from the app itself (services/observability.py), so uvicorn
    # keeps its hands off the logging configuration and writes no access log of its own.
    from progres.services.observability import configure_logging  # noqa: PLC0415

    configure_logging(settings)
    if settings.workers > 1:  # each worker process configures its logs again (services/app.py, served_app)
        uvicorn.run("progres.services.app:served_app", factory=True, host=settings.host, port=settings.port,
                    workers=settings.workers, log_level="warning", ws_max_size=settings.max_body_bytes,
                    log_config=None, access_log=False)
    else:
        from progres.services.app import create_app  # noqa: PLC0415

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                    ws_max_size=settings.max_body_bytes, log_config=None, access_log=False)


audit = typer.Typer(help="Audit: tamper evidence of the log, replay of a plan's history.", no_args_is_help=True)
app.add_typer(audit, name="audit")
register_audit_commands(audit)  # keygen, verify, checkpoint, heads, prove, check-proof (services/audit_cli.py)


@audit.command("replay")
def audit_replay(
    plan_id: Annotated[str, typer.Option("--plan", help="id of the plan de progrès")],
    until: Annotated[str | None, typer.Option(help="stop after this time (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line: the event and the state")] = False,
    data_dir: DataDir = None,
) -> None:
    """Walk a plan's history event by event, with the plan's state after each one."""
    from progres.projections.replay import replay_plan  # noqa: PLC0415

    until = parse_time(until, "--until") if until is not None else None
    _, progres = open_app(data_dir)
    steps = replay_plan(progres.facts(), plan_id, until)
    if as_json:
        for step in steps:
            print(json.dumps(step, ensure_ascii=False))
        return
    table = Table("Position", "Recorded at", "Event", "Plan after it", title=f"Replay of plan {plan_id}")
    count = 0
    for step in steps:
        count += 1
        state = step["plan"]
        summary = ("—" if not state["exists"] else
                   f"{state['axes']} axes, {state['indicators']} indicators, {state['measures']} measures "
                   f"({state['corrections']} corrected), propositions {state['proposals']}, revues "
                   f"{state['reviews_held']}, avenants {state['avenants_notified']}, amount {state['current_amount']}"
                   + (", closed" if state["closed"] else ""))
        table.add_row(str(step["position"]), step["timestamp"][:19], step["type"], summary)
    if count == 0:
        raise Refused("not_found", "--plan", say("plan_not_found", id=short(plan_id)))
    console.print(table)


export = typer.Typer(help="Données ouvertes : DECP 2.0.3 et OCDS 1.1.5 (extension metrics) du marché d'un plan.",
                     no_args_is_help=True)
app.add_typer(export, name="export")
OCDS_KINDS = ("releases", "record")


def write_document(document: Any, output: Path | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n")
        console.print(f"écrit dans {output}")


@export.command("decp")
def export_decp(
    plan_id: RequiredPlan,
    output: Annotated[Path | None, typer.Option(help="écrire dans ce fichier au lieu de l'afficher")] = None,
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """DECP 2.0.3 (JSON) du marché du plan, ses avenants notifiés en `modifications`."""
    from progres.projections.exports import InvalidExport, MissingParticulars, decp  # noqa: PLC0415

    actor = audience(as_siret, role)
    _, ledger, directory, _, _, _, _ = ledger_for(data_dir, plan_id, None, None, actor)
    try:
        document = decp(ledger, directory, plan_id)
    except InvalidExport as error:  # exit 1 and nothing written: the data must be corrected first
        code = "missing_particulars" if isinstance(error, MissingParticulars) else "invalid_export"
        raise Refused(code, None, say("invalid_export", standard=error.standard, fields=", ".join(error.fields)),
                      exit_code=1) from None
    write_document(document, output)


@export.command("ocds")
def export_ocds(
    plan_id: RequiredPlan,
    kind: Annotated[str, typer.Option(help="releases (un paquet de releases) ou record (un paquet record)")]
    = "releases",
    output: Annotated[Path | None, typer.Option(help="écrire dans ce fichier au lieu de l'afficher")] = None,
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """OCDS 1.1.5 : une release par changement, ou le record ; les indicateurs en metrics. Les mesures de chaque
    membre n'y figurent que si la convention du groupement partage le détail des membres."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from progres.projections.exports import (  # noqa: PLC0415
        InvalidExport,
        check_ocds,
        ocds_releases,
        record_package,
        release_package,
    )

    if kind not in OCDS_KINDS:
        raise Refused("invalid_input", "--kind",
                      say("bad_choice", value=short(kind, 20), choices=", ".join(OCDS_KINDS)))
    actor = audience(as_siret, role)
    _, ledger, directory, _, _, _, _ = ledger_for(data_dir, plan_id, None, None, actor)
    publisher = directory["organisations"][ledger["groupement"]["coordonnateur_id"]]["name"]
    releases = ocds_releases(ledger, directory, plan_id, publisher)
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package = record_package if kind == "record" else release_package
    try:  # exit 1 and nothing written rather than a file that does not validate
        document = check_ocds(package(releases, published, publisher), f"{kind.removesuffix('s')}_package")
    except InvalidExport as error:
        raise Refused("invalid_export", None, say("invalid_export", standard=error.standard,
                                                  fields=", ".join(error.fields)), exit_code=1) from None
    write_document(document, output)


keycloak_app = typer.Typer(help="Keycloak : provisionnement des organisations.", no_args_is_help=True)
app.add_typer(keycloak_app, name="keycloak")


@keycloak_app.command("sync")
def keycloak_sync(data_dir: DataDir = None) -> None:
    """Aligne les Organizations de Keycloak sur les organisations de la plateforme et les adhésions."""
    from progres.projections.ledger import DIRECTORY  # noqa: PLC0415
    from progres.services.provisioning import admin_client, sync, wanted_organisations  # noqa: PLC0415

    settings, _, models = open_read_models(data_dir)
    models.fresh(None)
    parties = models.all_parties()
    ledgers = models.ledgers([DIRECTORY, *[p["groupement_id"] for p in parties]])
    codes = {g: ledger["groupement"]["code"] for g, ledger in ledgers.items() if ledger.get("groupement")}
    wanted = wanted_organisations(ledgers.get(DIRECTORY, {}), parties, codes)
    changes = sync(admin_client(settings), wanted)
    for change in changes:
        console.print(f"  {change}")
    console.print(f"{len(changes)} changement(s) ; {len(wanted)} organisations alignées avec {settings.keycloak_url}.")


@app.command("dev-token")
def dev_token(
    org: Annotated[str, typer.Option(help="SIRET de l'organisation qui agit")],
    role: Annotated[list[str], typer.Option(help="rôle(s) : coordonnateur, acheteur, titulaire, auditeur, admin")],
    hours: Annotated[int, typer.Option(help="durée de vie du jeton (heures)", min=1, max=24 * 30)] = 8,
    data_dir: DataDir = None,
) -> None:
    """Mode d'identité local : un jeton signé par la clé gardée dans le dossier de données (sans Keycloak)."""
    from progres.domain.values import Siret  # noqa: PLC0415
    from progres.services.identity import LocalIssuer  # noqa: PLC0415
    from progres.services.policy import Role  # noqa: PLC0415

    settings = settings_for(data_dir)
    if settings.oidc_issuer:
        raise Refused("refused", None, "un fournisseur d'identité est configuré (PROGRES_OIDC_ISSUER) : "
                                       "demandez-lui les jetons")
    try:
        siret = Siret(org).value
    except DomainError:
        raise Refused("invalid_input", "--org", say("bad_siret", value=short(org, 20))) from None
    try:
        roles = [Role(r).value for r in role]
    except ValueError:
        raise Refused("invalid_input", "--role", say("bad_role", value=short(" ".join(role), 20))) from None
    print(LocalIssuer(settings.data_dir).mint(siret, roles, settings.oidc_audience, hours * 3600))


# Purchase files and EGalim figures (services/import_cli.py)
from progres.services.import_cli import egalim_app, import_app  # noqa: E402

app.add_typer(import_app, name="import")
app.add_typer(egalim_app, name="egalim")


def main() -> None:
    raise SystemExit(run(app))


if __name__ == "__main__":
    main()
