"""`progres import achats` and `progres egalim …`: ma cantine purchase files in, EGalim figures out (French)."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from progres.domain.egalim import Territory
from progres.domain.errors import InvalidInput
from progres.domain.organisations import Organisation
from progres.domain.purchases import PurchaseFileRefused
from progres.domain.values import Siret
from progres.projections.egalim import FIGURES
from progres.services.bootstrap import bootstrap
from progres.services.cli_support import (
    AsOption,
    Reader,
    Refused,
    RoleOption,
    audience,
    err_console,
    require_store,
    say,
    short,
)
from progres.services.commands import Progres
from progres.services.egalim_reads import MemberFigures, NoPurchases, member_figures
from progres.services.policy import Actor
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

import_app = typer.Typer(help="Importe des fichiers (achats au format ma cantine).", no_args_is_help=True)
egalim_app = typer.Typer(help="Parts EGalim d'un membre, calculées depuis ses achats importés.",
                         no_args_is_help=True)
console = Console()

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="dossier du stockage SQLite embarqué")]
PlanOption = Annotated[str, typer.Option("--plan", help="id du plan de progrès")]
MemberOption = Annotated[str, typer.Option("--member", help="SIRET du membre (l'établissement acheteur)")]


def open_app(data_dir: Path | None) -> Progres:
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    require_store(settings)  # a command run in the wrong directory must not create an empty store
    return bootstrap(settings)


def organisation_id(siret: str) -> str:
    return str(Organisation.create_id(Siret(siret).value))


def parse_feeds(feeds: list[str]) -> dict[str, str]:
    parsed = {}
    for feed in feeds:
        key, sep, figure = feed.partition("=")
        if not sep or not key or not figure:
            raise Refused("invalid_input", "--feed", f"« {feed[:40]} » n'est pas de la forme indicateur=part "
                          f"({', '.join(FIGURES)})")
        parsed[key.strip()] = figure.strip()
    return parsed


@import_app.command("achats")
def import_achats(
    file: Annotated[Path, typer.Argument(help="fichier CSV (virgule, point-virgule ou tabulation) ou XLSX",
                                         exists=True, dir_okay=False, readable=True)],
    plan_id: PlanOption,
    member: MemberOption,
    feed: Annotated[list[str] | None, typer.Option(
        "--feed", help="indicateur du plan alimenté par une part, ex. egalim_share=part_egalim (répétable)")] = None,
    by: Annotated[str | None, typer.Option("--by", help="SIRET de qui importe (par défaut : le membre)")] = None,
    on: Annotated[str | None, typer.Option("--on", help="date de l'import, aaaa-mm-jj (par défaut : aujourd'hui)")
                  ] = None,
    command_id: Annotated[str | None, typer.Option("--command-id", help="id pour rejouer sans risque")] = None,
    data_dir: DataDir = None,
) -> None:
    """Importe les achats d'un membre (format ma cantine, 12 ou 8 colonnes) : tout ou rien."""
    progres = open_app(data_dir)
    member_id = organisation_id(member)
    content = file.read_bytes()
    try:
        result = progres.import_purchases(
            plan_id, member_id, base64.b64encode(content).decode(), file.name,
            organisation_id(by) if by else member_id, on or date.today().isoformat(), parse_feeds(feed or []),
            command_id=command_id)
    except PurchaseFileRefused as error:
        err_console.print(f"[red]{error.code}[/]: fichier refusé, rien n'est importé ({len(error.errors)} erreur(s)) :")
        for line in error.errors[:200]:
            err_console.print(f"  - {line}", markup=False)
        raise typer.Exit(2) from None
    purchase_import = progres.repository.get(UUID(result.id), version=1)  # the header: not 100,000 line events
    console.print(f"Import accepté : {purchase_import.line_count} achats ({purchase_import.file_format}), "
                  f"sha256 {purchase_import.sha256}, import {result.id}, position {result.position}"
                  + (" (rejoué)" if result.replayed else ""))


def plain(value: Any) -> Any:
    return None if value is None else str(value)


def day_of(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Refused("invalid_input", option, say("bad_day", value=short(value, 20))) from None


def figures_for(data_dir: Path | None, plan_id: str, member: str, start: date, end: date, actor: Actor | None,
                territory: Territory = Territory.HEXAGONE) -> MemberFigures:
    """A member's figures for a reader the policy lets see that member, as GraphQL's `egalimShares` decides
    (the member's view rule); the plan is "not found" to whoever may not read it."""
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    progres = open_app(data_dir)
    reader = Reader(ReadModels.open(progres, settings), actor)
    parties = reader.plan(plan_id)
    member_id = organisation_id(member)
    reader.member(parties, member_id)
    try:
        return member_figures(progres, plan_id, member_id, start, end, territory)
    except NoPurchases:
        raise Refused("not_found", "--member", say("no_purchases")) from None
    except InvalidInput as error:
        raise Refused(error.code, "--to", error.details.get("rule", error.message)) from None


TerritoryOption = Annotated[str, typer.Option(
    "--territory", help="territoire des seuils : " + ", ".join(t.value for t in Territory))]


@egalim_app.command("parts")
def egalim_parts(
    plan_id: PlanOption,
    member: MemberOption,
    start: Annotated[str, typer.Option("--from", help="premier jour, aaaa-mm-jj")],
    end: Annotated[str, typer.Option("--to", help="dernier jour, aaaa-mm-jj")],
    territory: TerritoryOption = Territory.HEXAGONE.value,
    as_json: Annotated[bool, typer.Option("--json", help="en JSON")] = False,
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """Les parts EGalim d'un membre sur une période (en %), par famille de produits, avec les seuils."""
    actor = audience(as_siret, role)
    try:
        where = Territory(territory)
    except ValueError:
        raise Refused("invalid_input", "--territory", say("bad_territory", value=short(territory, 20))) from None
    found = figures_for(data_dir, plan_id, member, day_of(start, "--from"), day_of(end, "--to"), actor, where)
    computed, families, threshold = found.shares, found.families, found.threshold
    seuils = None if threshold is None else {
        "territoire": threshold.territory.value, "du": threshold.start.isoformat(),
        "au": threshold.end.isoformat() if threshold.end else None, "egalim": threshold.egalim_percent,
        "bio": threshold.bio_percent, "source": threshold.source, "viandes_poissons": found.meat_fish_percent}
    if as_json:
        print(json.dumps({"parts": {k: plain(v) for k, v in computed.items()},
                          "familles": {f: {k: plain(v) for k, v in row.items()} for f, row in families.items()},
                          "seuils": seuils}, ensure_ascii=False, indent=2))
        return
    table = Table("Part", "Valeur")
    for name, value in computed.items():
        table.add_row(name, "-" if value is None else str(value))
    console.print(table)
    by = Table("Famille", "Total € HT", "Bio", "SIQO", "Autres EGalim", "Ext./perf.", "Part EGalim %")
    for name, row in families.items():
        by.add_row(name, str(row["valeur_totale"]), str(row["valeur_bio"]), str(row["valeur_siqo"]),
                   str(row["valeur_egalim_autres"]), str(row["valeur_externalites_performance"]),
                   str(row["part_egalim"]))
    console.print(by)
    if seuils is not None:
        console.print(f"Seuils ({seuils['territoire']}, depuis le {seuils['du']}) : EGalim {seuils['egalim']} %, "
                      f"dont bio {seuils['bio']} % — {seuils['source']}", markup=False)


@egalim_app.command("teledeclaration")
def egalim_teledeclaration(
    plan_id: PlanOption,
    member: MemberOption,
    year: Annotated[int, typer.Option("--year", help="année civile des achats")],
    as_siret: AsOption = None,
    role: RoleOption = None,
    data_dir: DataDir = None,
) -> None:
    """Les valeurs annuelles d'un membre sous les noms de champs du bilan ma cantine (JSON, € HT)."""
    actor = audience(as_siret, role)
    if not 2000 <= year <= 2100:
        raise Refused("invalid_input", "--year", say("bad_year", value=year))
    found = figures_for(data_dir, plan_id, member, date(year, 1, 1), date(year, 12, 31), actor)
    print(json.dumps({"annee": year, **{k: str(v) for k, v in found.diagnostic(year).items()}},
                     ensure_ascii=False, indent=2))
