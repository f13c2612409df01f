"""The `progres` command line: thin commands that translate arguments and delegate to services."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from progres.domain.errors import DomainError
from progres.services.bootstrap import bootstrap
from progres.services.commands import Progres
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

app = typer.Typer(help="progres: the plan de progrès of a groupement de commandes, as immutable events.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
console = Console()

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory of the embedded SQLite store")]


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def open_app(data_dir: Path | None) -> tuple[Settings, Progres]:
    settings = settings_for(data_dir)
    return settings, bootstrap(settings)


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create the event store (tables) if it does not exist yet."""
    settings, progres = open_app(data_dir)
    head = progres.max_notification_id() or 0
    console.print(f"[green]Store ready[/]: {settings.describe_store()} — {head} events.")


@app.command()
def demo(
    data_dir: DataDir = None,
    reset: Annotated[bool, typer.Option(help="start from an empty SQLite store (deletes the demo's file)")] = False,
) -> None:
    """Play the seed's story: the lycées of Lens, the "Beurre Œuf Fromage" marché and its plan de progrès."""
    from progres.services.demo import run_seed_scenario, summarise  # noqa: PLC0415 - only this command needs it

    settings = settings_for(data_dir)
    if reset and settings.store == "sqlite" and settings.sqlite_path.exists():
        settings.sqlite_path.unlink()
    progres = bootstrap(settings)
    if progres.max_notification_id():
        console.print(f"[red]The store already holds events[/] ({settings.describe_store()}). The demo needs an "
                      "empty store: run [bold]progres demo --reset[/] or choose another --data-dir.")
        raise typer.Exit(1)
    started = time.perf_counter()
    with console.status("Playing the seed scenario (2 years of a plan de progrès)…"):
        scenario = run_seed_scenario(progres)
    elapsed = time.perf_counter() - started
    print_summary(summarise(progres, scenario))
    events = progres.max_notification_id() or 0
    console.print(f"\n[bold]{scenario.commands}[/] commands wrote [bold]{events}[/] events in "
                  f"[bold]{elapsed:.2f} s[/] on {settings.describe_store()}.")
    console.print(f"Plan id: {scenario.plan} — try [bold]progres plan {scenario.plan}[/]")


def print_summary(summary: dict[str, Any]) -> None:
    console.rule(f"[bold]{summary['groupement']}[/]")
    console.print(f"{summary['members']} members · marché {summary['marche']}")
    console.print(f"Amount HT: {summary['initial_amount']} € → {summary['current_amount']} € "
                  f"(cumulative change {summary['cumulative_change_percent']} %)")
    avenants = Table("Avenant", "Basis", "Δ amount", "Cumulative %", "CAO opinion", "Notified", "Reason",
                     title="Avenants")
    for a in summary["avenants"]:
        avenants.add_row(str(a["number"]), a["basis"], a["amount_delta"], a["cumulative_percent"],
                         "yes" if a["needs_cao_opinion"] else "no", a["notified_on"] or "-", a["reason"])
    console.print(avenants)
    indicators = Table("Indicator", "Unit", "First", "Last", "Target", "Achieved %", title="Indicators (groupement)")
    for i in summary["indicators"]:
        indicators.add_row(i["name"], i["unit"] or "", str(i["first"]), str(i["last"]), str(i["target"]),
                           str(i["achievement"] or ""))
    console.print(indicators)
    proposals = Table("Proposition", "Outcome", title="Propositions")
    for title, status in summary["proposals"].items():
        proposals.add_row(title, status)
    console.print(proposals)
    console.print(f"Axes: {'; '.join(summary['axes'])}")
    console.print(f"Actions done: {summary['actions_done']}/{summary['actions']} · revues held: "
                  f"{summary['reviews']} · measures: {summary['measures']} · bilan final: "
                  f"{'closed' if summary['plan_closed'] else 'open'}")


@app.command()
def groupements(data_dir: DataDir = None) -> None:
    """List the groupements on this platform."""
    _, progres = open_app(data_dir)
    table = Table("Id", "Code", "Name", "Members", title="Groupements")
    for groupement in progres.list_groupements():
        active = len({m.organisation_id for m in groupement.memberships if m.left_on is None})
        table.add_row(str(groupement.id), groupement.code, groupement.name, str(active))
    console.print(table)


@app.command()
def plan(plan_id: str, data_dir: DataDir = None) -> None:
    """Show a plan de progrès: axes, objectives, indicators and actions."""
    _, progres = open_app(data_dir)
    the_plan = progres.plan(plan_id)
    tree = Tree(f"[bold]{the_plan.title}[/]{' (closed by its bilan final)' if the_plan.is_closed else ''}")
    for axis in the_plan.axes.values():
        branch = tree.add(f"[bold cyan]{axis.title}[/]" + (f" (avenant {axis.added_by_avenant})"
                                                           if axis.added_by_avenant else ""))
        for objective in (o for o in the_plan.objectives.values() if o.axis_key == axis.key):
            node = branch.add(f"{objective.title} [dim]({objective.kind.value})[/]")
            for ind in (i for i in the_plan.indicators.values() if i.objective_key == objective.key):
                target = f"{ind.baseline} → {ind.target} {ind.unit}" if ind.is_quantitative else "qualitative"
                node.add(f"[green]{ind.name}[/] [dim]{target}, {ind.scope.value}, {ind.periodicity.value}[/]")
        for action in (a for a in the_plan.actions.values() if a.axis_key == axis.key):
            branch.add(f"[yellow]action[/] {action.title} [dim]({action.owner.value}, due {action.due_on}, "
                       f"{action.status.value})[/]")
    console.print(tree)


@app.command()
def history(aggregate_id: str, data_dir: DataDir = None) -> None:
    """Show every event of one aggregate (groupement, marché, plan, measure, proposition, revue)."""
    _, progres = open_app(data_dir)
    table = Table("Version", "Recorded at", "Event", "Details", title=f"History of {aggregate_id}")
    for event in progres.history(aggregate_id):
        table.add_row(str(event["version"]), event["timestamp"], event["type"], event["details"])
    console.print(table)


projections = typer.Typer(help="Read models: status, rebuild, run.", no_args_is_help=True)
app.add_typer(projections, name="projections")


def open_read_models(data_dir: Path | None) -> tuple[Settings, Progres, ReadModels]:
    settings, progres = open_app(data_dir)
    return settings, progres, ReadModels.open(progres, settings)


@projections.command("status")
def projections_status(data_dir: DataDir = None) -> None:
    """Position of the read models in the log, and their lag behind its head."""
    _, _, models = open_read_models(data_dir)
    status = models.status()
    console.print(f"{status['projection']}: position {status['position']} of {status['head']} "
                  f"(lag {status['lag']} events)")


@projections.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="name of the new generation (default: next version)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Rebuild every read model from the whole log beside the ones in use, then switch to it."""
    _, progres, models = open_read_models(data_dir)
    head = progres.max_notification_id() or 0
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("Rebuilding the read models", total=head)
        result = models.rebuild(name, lambda position, total: bar.update(task, completed=position, total=total))
    console.print(f"[green]{result['projection']}[/] built from {result['events']} events in "
                  f"{result['seconds']:.2f} s and now serves reads"
                  + (f" (replacing {result['replaced']})." if result["replaced"] else "."))


@projections.command("run")
def projections_run(
    follow: Annotated[bool, typer.Option(help="keep running and project new events as they arrive")] = False,
    data_dir: DataDir = None,
) -> None:
    """Bring the read models up to date with the log (and keep them so with --follow)."""
    settings, _, models = open_read_models(data_dir)
    handled = models.runner.catch_up()
    console.print(f"Projected {handled} events; {models.status()['lag']} behind.")
    if follow:
        console.print("Following the log (Ctrl-C to stop)…")
        with contextlib.suppress(KeyboardInterrupt):
            models.follow(settings, stop=lambda: False)


bilan_app = typer.Typer(help="The bilan du plan: show it, report it, capitalise it.", invoke_without_command=True)
app.add_typer(bilan_app, name="bilan")
PlanOption = Annotated[str | None, typer.Option("--plan", help="id of the plan de progrès")]
AsOfOption = Annotated[str | None, typer.Option(help="time (ISO 8601) to reconstruct it at")]
PositionOption = Annotated[int | None, typer.Option(help="log position to reconstruct it at")]


def ledger_for(data_dir: Path | None, plan_id: str, as_of: str | None, position: int | None) -> tuple[Any, ...]:
    """The plan's ledger now, or as of a time or position, with the organisations' directory."""
    from progres.projections.ledger import DIRECTORY  # noqa: PLC0415

    settings, _, models = open_read_models(data_dir)
    models.fresh(None)
    route = models.route(plan_id)
    if route is None:
        console.print(f"[red]plan_not_found[/]: no plan de progrès with id {plan_id}")
        raise typer.Exit(2)
    reader = models.as_of()
    at = reader.position_for(position, as_of)
    ledger = reader.plan_ledger(plan_id, at) if (as_of or position is not None) else \
        models.ledgers([route.groupement_id])[route.groupement_id]
    directory = models.ledgers([DIRECTORY])[DIRECTORY]
    return settings, ledger, directory, models, at


@bilan_app.callback()
def bilan(
    ctx: typer.Context,
    plan_id: PlanOption = None,
    as_of: AsOfOption = None,
    position: PositionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the balance as JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """The bilan du plan: now, or as it stood at a past time or log position."""
    if ctx.invoked_subcommand is not None:
        return
    if plan_id is None:
        console.print("[red]missing[/]: --plan PLAN_ID (or a subcommand: report, capitalisation)")
        raise typer.Exit(2)
    _, _, models = open_read_models(data_dir)
    models.fresh(None)
    if as_of is None and position is None:
        balance = models.plan_balance(plan_id)
    else:
        balance = models.as_of().plan_balance(plan_id, position=position, timestamp=as_of)
    if balance is None:
        console.print(f"[red]plan_not_found[/]: no plan de progrès with id {plan_id}")
        raise typer.Exit(2)
    if as_json:
        print(json.dumps(balance, ensure_ascii=False, indent=2))
        return
    print_balance(balance)


@bilan_app.command("report")
def bilan_report(
    plan_id: Annotated[str, typer.Option("--plan", help="id of the plan de progrès")],
    format: Annotated[str, typer.Option(help="html, pdf, csv, xlsx or json")] = "html",
    output: Annotated[Path | None, typer.Option(help="file to write (default: bilan-<plan>.<format>)")] = None,
    as_of: AsOfOption = None,
    position: PositionOption = None,
    data_dir: DataDir = None,
) -> None:
    """The bilan report for elected officials and the supplier (in French), with its provenance."""
    from progres.services.audit import link_at  # noqa: PLC0415
    from progres.services.reports import bilan as reports  # noqa: PLC0415

    if format not in ("html", "pdf", "csv", "xlsx", "json"):
        console.print(f"[red]invalid_input[/]: format: '{format}' is not one of html, pdf, csv, xlsx, json")
        raise typer.Exit(2)
    settings, ledger, directory, _, at = ledger_for(data_dir, plan_id, as_of, position)
    report = reports.build_report(ledger, directory, plan_id, link_at(settings, report_position(ledger, at)))
    target = output or Path(f"bilan-{plan_id[:8]}.{format}")
    with console.status(f"Writing the {format.upper()} report…"):
        if format == "html":
            target.write_text(reports.to_html(report), encoding="utf-8")
        elif format == "pdf":
            target.write_bytes(reports.to_pdf(report))
        elif format == "csv":
            target.write_text(reports.to_csv(report), encoding="utf-8")
        elif format == "xlsx":
            target.write_bytes(reports.to_xlsx(report))
        else:
            target.write_text(json.dumps(reports.to_json(report), ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"Report written to {target} (log position {report.position}).")


def report_position(ledger: Any, at: int) -> int:
    return min(int(ledger["position"]), at) if at else int(ledger["position"])


@bilan_app.command("capitalisation")
def bilan_capitalisation(
    plan_id: Annotated[str, typer.Option("--plan", help="id of the plan de progrès")],
    output: Annotated[Path | None, typer.Option(help="file to write (Markdown); printed otherwise")] = None,
    data_dir: DataDir = None,
) -> None:
    """What the plan taught, for the next consultation: needs, constraints, decisions, avenants, indicators."""
    from progres.services.reports.capitalisation import capitalisation  # noqa: PLC0415

    _, ledger, directory, _, _ = ledger_for(data_dir, plan_id, None, None)
    text = capitalisation(ledger, directory, plan_id)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"written to {output}")


def print_balance(balance: dict[str, Any]) -> None:
    kind = "Bilan final" if balance["final"] else "Bilan du plan"
    console.rule(f"[bold]{kind} — {balance['title']}[/] (log position {balance['position']})")
    table = Table("Axis", "Indicator", "Baseline", "First", "Last", "Target", "Achieved %", "Status")
    for axis in balance["axes"]:
        for objective in axis["objectives"]:
            for ind in objective["indicators"]:
                if ind["kind"] == "qualitative":
                    table.add_row(axis["title"], ind["name"], "", "", ind["latest_assessment"] or "-", "", "",
                                  ind["status"])
                else:
                    table.add_row(axis["title"], f"{ind['name']} ({ind['unit']})", ind["baseline"], ind["first"],
                                  ind["last"], ind["target"], ind["achievement"], ind["status"])
    console.print(table)
    p = balance["proposals"]
    console.print(f"Propositions: {p['submitted']} submitted, {p['accepted']} accepted, {p['rejected']} rejected, "
                  f"{p['pending']} pending · revues held: {balance['reviews']['held']}")
    m = balance["marche"]
    console.print(f"Marché: {m['initial_amount']} € → {m['current_amount']} € HT "
                  f"(cumulative change {m['cumulative_change_percent']} %) · avenants: {len(balance['avenants'])}")
    gains = balance["gains"]
    console.print(f"Expected gains of accepted propositions: {gains['total']} € — shares: "
                  + ", ".join(f"{party} {amount} €" for party, amount in gains["parties"].items()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default: PROGRES_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: PROGRES_PORT)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the GraphQL API (/graphql, GraphiQL in development), /health and /ready."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from progres.services.app import LocalIdentityRefused, identity_validator  # noqa: PLC0415

    settings = settings_for(data_dir)
    updates: dict[str, Any] = {"host": host or settings.host, "port": port or settings.port}
    settings = settings.model_copy(update=updates)
    try:
        identity_validator(settings)
    except LocalIdentityRefused as refusal:
        console.print(f"[red]refused[/]: {refusal}")
        raise typer.Exit(2) from None
    identity = settings.oidc_issuer or "local identity mode (tokens from `progres dev-token`)"
    console.print(f"progres serving on http://{settings.host}:{settings.port}/graphql ({settings.environment}, "
                  f"{settings.describe_store()}, identity: {identity})")
    if settings.workers > 1:
        uvicorn.run("progres.services.app:create_app", factory=True, host=settings.host, port=settings.port,
                    workers=settings.workers, log_level="warning", ws_max_size=settings.max_body_bytes)
    else:
        from progres.services.app import create_app  # noqa: PLC0415

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                    ws_max_size=settings.max_body_bytes)


audit = typer.Typer(help="Audit: tamper evidence of the log, replay of a plan's history.", no_args_is_help=True)
app.add_typer(audit, name="audit")


def postgres_only(settings: Settings) -> None:
    if settings.store != "postgres":
        console.print("[red]unsupported[/]: the hash chain is kept by PostgreSQL triggers; the embedded SQLite "
                      "store has none (set PROGRES_STORE=postgres)")
        raise typer.Exit(2)


@audit.command("verify")
def audit_verify(
    from_checkpoint: Annotated[Path | None, typer.Option("--from", help="checkpoint file (JSON) to start from")] = None,
    data_dir: DataDir = None,
) -> None:
    """Re-derive the hash chain from the stored events; name the first position where they disagree."""
    from progres.services.audit import verify  # noqa: PLC0415

    settings = settings_for(data_dir)
    postgres_only(settings)
    start, link = 0, b""
    if from_checkpoint is not None:
        saved = json.loads(from_checkpoint.read_text())
        start, link = int(saved["position"]), bytes.fromhex(saved["link"])
    with console.status("Verifying the hash chain…"):
        result = verify(settings, start, link)
    if result.intact:
        console.print(f"[green]intact[/]: {result.checked} events checked after position {start}; chain head at "
                      f"position {result.head_position}, link {result.head_link}")
        return
    console.print(f"[red]tampered[/]: {result.finding} (the {result.checked} events before it are intact)")
    raise typer.Exit(1)


@audit.command("checkpoint")
def audit_checkpoint(
    output: Annotated[Path | None, typer.Option(help="write the checkpoint to this file")] = None,
    data_dir: DataDir = None,
) -> None:
    """Print (or write) the chain head: keep it outside the database to prove the chain later."""
    from progres.services.audit import checkpoint  # noqa: PLC0415

    settings = settings_for(data_dir)
    postgres_only(settings)
    text = json.dumps(checkpoint(settings), indent=2)
    if output is not None:
        output.write_text(text + "\n")
    print(text)


@audit.command("replay")
def audit_replay(
    plan_id: Annotated[str, typer.Option("--plan", help="id of the plan de progrès")],
    until: Annotated[str | None, typer.Option(help="stop after this time (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line: the event and the state")] = False,
    data_dir: DataDir = None,
) -> None:
    """Walk a plan's history event by event, with the plan's state after each one."""
    from progres.projections.replay import replay_plan  # noqa: PLC0415

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
        console.print(f"[red]plan_not_found[/]: no event of plan {plan_id} in the log")
        raise typer.Exit(2)
    console.print(table)


export = typer.Typer(help="Open data: DECP 2.0.3 and OCDS 1.1.5 (metrics extension) of a plan's marché.",
                     no_args_is_help=True)
app.add_typer(export, name="export")


def write_document(document: Any, output: Path | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n")
        console.print(f"written to {output}")


@export.command("decp")
def export_decp(
    plan_id: Annotated[str, typer.Option("--plan", help="id of the plan de progrès")],
    output: Annotated[Path | None, typer.Option(help="write to this file instead of printing")] = None,
    data_dir: DataDir = None,
) -> None:
    """DECP 2.0.3 JSON of the plan's marché, its notified avenants as `modifications`."""
    from progres.projections.exports import MissingParticulars, decp  # noqa: PLC0415

    _, ledger, directory, _, _ = ledger_for(data_dir, plan_id, None, None)
    try:
        write_document(decp(ledger, directory, plan_id), output)
    except MissingParticulars as error:
        console.print(f"[red]missing_particulars[/]: {error}")
        raise typer.Exit(2) from None


@export.command("ocds")
def export_ocds(
    plan_id: Annotated[str, typer.Option("--plan", help="id of the plan de progrès")],
    kind: Annotated[str, typer.Option(help="releases (a release package) or record (a record package)")] = "releases",
    output: Annotated[Path | None, typer.Option(help="write to this file instead of printing")] = None,
    data_dir: DataDir = None,
) -> None:
    """OCDS 1.1.5 releases (one per change) or record, indicators as metrics."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from progres.projections.exports import ocds_releases, record_package, release_package  # noqa: PLC0415

    _, ledger, directory, _, _ = ledger_for(data_dir, plan_id, None, None)
    publisher = directory["organisations"][ledger["groupement"]["coordonnateur_id"]]["name"]
    releases = ocds_releases(ledger, directory, plan_id, publisher)
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package = record_package if kind == "record" else release_package
    write_document(package(releases, published, publisher), output)


keycloak_app = typer.Typer(help="Keycloak: provisioning of organisations.", no_args_is_help=True)
app.add_typer(keycloak_app, name="keycloak")


@keycloak_app.command("sync")
def keycloak_sync(data_dir: DataDir = None) -> None:
    """Make Keycloak Organizations match the platform's organisations and groupement memberships."""
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
    console.print(f"{len(changes)} change(s); {len(wanted)} organisations in sync with {settings.keycloak_url}.")


@app.command("dev-token")
def dev_token(
    org: Annotated[str, typer.Option(help="SIRET of the acting organisation")],
    role: Annotated[list[str], typer.Option(help="role(s): coordonnateur, acheteur, titulaire, auditeur, admin")],
    hours: Annotated[int, typer.Option(help="lifetime of the token")] = 8,
    data_dir: DataDir = None,
) -> None:
    """Local identity mode: mint a token signed by the key kept in the data directory (no Keycloak)."""
    from progres.domain.values import Siret  # noqa: PLC0415
    from progres.services.identity import LocalIssuer  # noqa: PLC0415
    from progres.services.policy import Role  # noqa: PLC0415

    settings = settings_for(data_dir)
    if settings.oidc_issuer:
        console.print("[red]refused[/]: an identity provider is configured (PROGRES_OIDC_ISSUER): ask it for tokens")
        raise typer.Exit(2)
    try:
        siret, roles = Siret(org).value, [Role(r).value for r in role]
    except (DomainError, ValueError) as error:
        console.print(f"[red]invalid_input[/]: {error}")
        raise typer.Exit(2) from None
    print(LocalIssuer(settings.data_dir).mint(siret, roles, settings.oidc_audience, hours * 3600))


def main() -> None:
    try:
        app()
    except DomainError as error:
        console.print(f"[red]{error.code}[/]: {error.message}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
