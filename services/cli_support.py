"""What the `progres` commands share: refusals, the store that must exist, who reads, and when.

- A refusal (`Refused`) is printed on stderr as `code: field: message` (French) with exit code 2, never a
  traceback; `run` turns click's usage errors, domain errors and I/O errors into the same form.
- A command other than `init` and `demo` needs an existing store (`require_store`): running it in the
  wrong directory must not silently create an empty one.
- Reads, reports and exports run for an audience (`--as SIRET --role ROLE`), checked by the API's own
  policy (services/access.py); without it they run as the store's operator, with full access, and say so
  on stderr.
- `--on` (business date), `--as-known-at` and its former forms `--as-of` and `--position` are parsed here
  (`read_moment`): a date must be aaaa-mm-jj, a time ISO 8601, a position in the log; a time before the first
  event is no refusal: the read answers an empty state and says that nothing was recorded yet.

French user text of the command line is kept in MESSAGES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from progres.domain.errors import DomainError
from progres.projections.as_of import recording_instant
from progres.services.access import Access
from progres.services.policy import READ_MEMBER, Actor, Denied, Parties, Policy, Role
from progres.services.read_models import ReadModels
from progres.services.settings import Settings
from progres.services.time_axes import Moment, business_day

err_console = Console(stderr=True)


def _usage_errors(name: str) -> tuple[type[Exception], ...]:
    """Click's exception class of this name, as raised by typer (which may vendor click) and by click itself."""
    found: list[type[Exception]] = []
    for module_name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = __import__(module_name, fromlist=[name])
        except ImportError:
            continue
        if hasattr(module, name):
            found.append(getattr(module, name))
    return tuple(found)


NO_ARGS, MISSING, NO_SUCH_OPTION = _usage_errors("NoArgsIsHelpError"), _usage_errors("MissingParameter"), \
    _usage_errors("NoSuchOption")
BAD_PARAMETER, USAGE, ABORT = _usage_errors("BadParameter"), _usage_errors("UsageError"), _usage_errors("Abort")

ROLES = ", ".join(r.value for r in Role)
MESSAGES = {
    "operator": "progres : pas de --as : lecture en tant qu'opérateur du dépôt, avec un accès complet "
                "(--as SIRET --role RÔLE pour lire ce qu'une organisation peut voir).",
    "key_missing": "aucune clé d'audit : créez-la avec `progres audit keygen` (en production, elle est exigée ; "
                   "docs/audit.md) — {detail}",
    "as_and_role": "--as et --role vont ensemble : l'organisation (SIRET) et le rôle dans lequel elle lit",
    "bad_siret": "« {value} » n'est pas un SIRET valide (14 chiffres, clé de contrôle)",
    "bad_role": "« {value} » n'est pas un rôle ; rôles : " + ROLES,
    "store_missing": "aucun dépôt d'événements ici ({store}) : lancez d'abord `progres init` (ou `progres demo`), "
                     "ou indiquez le bon --data-dir",
    "store_unreachable": "le dépôt PostgreSQL ne répond pas ({store}) : {reason}",
    "worker_start_retry": "processus de projection : le dépôt a fermé la session au démarrage (essai {attempt}) ; "
                          "nouvel essai dans {pause} s — {reason}",
    "plan_not_found": "aucun plan de progrès d'identifiant « {id} » ne vous est visible",
    "forbidden": "{actor} n'a pas accès à cette lecture ({action})",
    "member_forbidden": "{actor} ne voit pas le détail de ce membre (seuls le coordonnateur, les auditeurs du "
                        "groupement et le membre lui-même le voient, sauf si la convention le partage)",
    "no_purchases": "aucun achat importé pour ce membre dans ce plan",
    "bad_day": "« {value} » n'est pas une date au format aaaa-mm-jj",
    "bad_year": "{value} n'est pas une année de 2000 à 2100",
    "bad_territory": "« {value} » n'est pas un territoire ; territoires : hexagone, groupe_1 (Guadeloupe, Guyane, "
                     "Martinique, La Réunion, Saint-Martin), groupe_2 (Mayotte), groupe_3 (Saint-Pierre-et-Miquelon)",
    "history_not_found": "aucun historique visible pour l'identifiant « {id} »",
    "both_moments": "choisissez --as-of ou --position, pas les deux",
    "one_moment": "choisissez une seule de --as-known-at, --as-of et --position : elles disent toutes à quel "
                  "moment du journal lire",
    "bad_position": "« {value} » n'est pas une position du journal (un entier, 1 ou plus)",
    "position_beyond": "le journal ne compte que {head} événements : position {value} hors du journal",
    "bad_time": "« {value} » n'est pas une date ISO 8601 (AAAA-MM-JJ ou AAAA-MM-JJTHH:MM[:SS][+HH:MM], UTC par "
                "défaut)",
    "bad_choice": "« {value} » n'est pas l'un de : {choices}",
    "csv_is_zip": "le format csv écrit une archive zip (un fichier CSV par tableau) : nommez la sortie en .zip",
    "csv_only": "la forme internationale ne concerne que le format csv",
    "missing_parameter": "{param} est obligatoire",
    "no_such_option": "option inconnue {option}",
    "bad_parameter": "valeur refusée ({detail})",
    "usage": "la commande n'a pas compris ses arguments ({detail}) ; voir `progres --help`",
    "io_error": "{path} : {reason}",
    "invalid_export": "{standard} : le fichier ne serait pas valide, rien n'est écrit ; champs en faute : {fields}",
    "model_line": "  {name} : code v{version}, dépôt {stored} ; table {table}, {events}",
    "model_stored": "v{version}",
    "model_unbuilt": "non construite",
    "model_unrecorded": "non enregistrée",
    "model_building": "    reconstruction de v{version} à côté de l'actuelle : {done} sur {total} (les lectures "
                      "servent l'actuelle jusqu'à la bascule)",
    "store_not_empty": "le dépôt contient déjà des événements ({store}) ; la démo demande un dépôt vide : "
                       "`progres demo --reset` ou un autre --data-dir",
}


def say(key: str, **values: Any) -> str:
    return MESSAGES[key].format(**values)


def short(value: object, limit: int = 40) -> str:
    """User input is echoed only as a short prefix."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class Refused(Exception):
    """A command refused before doing anything: printed on stderr as `code: field: message`, exit code 2 (1 when
    the data, not the command line, is at fault: an export that would not validate)."""

    def __init__(self, code: str, field: str | None, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.code, self.field, self.message, self.exit_code = code, field, message, exit_code


def refuse(code: str, field: str | None, message: str) -> None:
    line = Text.assemble((code, "bold red"), ": ", f"{field}: " if field else "", message)
    err_console.print(line, soft_wrap=True, highlight=False)


def run(app: Callable[..., Any]) -> int:
    """Runs the typer app; every refusal becomes `code: field: message` on stderr and exit code 2."""
    import psycopg  # noqa: PLC0415 - the driver is loaded by the commands anyway

    from progres.services.audit_keys import KeyMissing  # noqa: PLC0415

    try:
        result = app(standalone_mode=False)
    except Refused as refusal:
        refuse(refusal.code, refusal.field, refusal.message)
        return refusal.exit_code
    except DomainError as error:
        refuse(error.code, None, error.message)  # the message names the field
        return 2
    except NO_ARGS as error:
        error.show()  # type: ignore[attr-defined]
        return 2
    except MISSING as error:
        refuse("missing_argument", None, say("missing_parameter", param=parameter(error)))
        return 2
    except NO_SUCH_OPTION as error:
        refuse("unknown_option", None, say("no_such_option", option=short(getattr(error, "option_name", "?"))))
        return 2
    except BAD_PARAMETER as error:
        refuse("invalid_input", parameter(error), say("bad_parameter", detail=getattr(error, "message", error)))
        return 2
    except USAGE as error:
        refuse("usage", None, say("usage", detail=getattr(error, "message", error)))
        return 2
    except ABORT:
        return 1
    except KeyMissing as missing:
        refuse("key_missing", "PROGRES_AUDIT_KEYS_DIR", say("key_missing", detail=short(str(missing), 200)))
        return 2
    except psycopg.OperationalError as error:
        refuse("store_unreachable", None, short(str(error).strip(), 200))
        return 2
    except OSError as error:
        refuse("io_error", None, say("io_error", path=short(error.filename or "?", 120),
                                     reason=error.strerror or str(error)))
        return 2
    return result if isinstance(result, int) else 0


def parameter(error: Exception) -> str:
    """The option or argument a usage error is about, as the user typed it (`--plan`, `PLAN_ID`)."""
    param = getattr(error, "param", None)
    if param is None:
        return str(getattr(error, "param_hint", None) or "un argument")
    options = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return options[0] if options else str(param.name).upper()


def require_store(settings: Settings) -> None:
    """Refuses unless the event store exists: a command never creates an empty store by accident."""
    if settings.store == "sqlite":
        if not settings.sqlite_path.is_file():
            raise Refused("store_missing", "--data-dir", say("store_missing", store=settings.describe_store()))
        return
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    from progres.services.bootstrap import postgres_connect  # noqa: PLC0415

    try:
        with postgres_connect(settings) as connection:
            table = sql.Identifier(settings.postgres_schema, "progres_events").as_string(connection)
            found = connection.execute("SELECT to_regclass(%s)", [table]).fetchone()
    except psycopg.OperationalError as error:
        raise Refused("store_unreachable", None, say("store_unreachable", store=settings.describe_store(),
                                                     reason=short(str(error).strip(), 160))) from None
    if not found or found[0] is None:
        raise Refused("store_missing", "PROGRES_POSTGRES_SCHEMA", say("store_missing", store=settings.describe_store()
                                                                     + f", schéma {settings.postgres_schema}"))


# --as and --role: the options every read, report and export takes.
AsOption = Annotated[str | None, typer.Option("--as", help="SIRET de l'organisation pour qui lire (avec --role)")]
RoleOption = Annotated[str | None, typer.Option("--role", help=f"rôle dans lequel elle lit : {ROLES}")]


def audience(as_siret: str | None, role: str | None) -> Actor | None:
    """The actor a read runs for, or None for the store's operator (announced on stderr)."""
    from progres.domain.organisations import Organisation  # noqa: PLC0415
    from progres.domain.values import Siret  # noqa: PLC0415

    if as_siret is None and role is None:
        err_console.print(say("operator"), style="yellow", soft_wrap=True, highlight=False, markup=False)
        return None
    if as_siret is None or role is None:
        raise Refused("invalid_input", "--as" if as_siret is None else "--role", say("as_and_role"))
    try:
        siret = Siret(as_siret).value
    except DomainError:
        raise Refused("invalid_input", "--as", say("bad_siret", value=short(as_siret, 20))) from None
    try:
        acting = Role(role)
    except ValueError:
        raise Refused("invalid_input", "--role", say("bad_role", value=short(role, 20))) from None
    return Actor(str(Organisation.create_id(siret)), acting)


@dataclass
class Reader:
    """Reads for one audience through the API's access policy (services/access.py)."""

    models: ReadModels
    actor: Actor | None  # None: the store's operator

    @property
    def access(self) -> Access:
        return Access(self.models, Policy())

    def plan(self, plan_id: str) -> Parties | None:
        """The plan's parties if the audience may read it; "not found" otherwise, as the API answers."""
        self.models.fresh(None)
        route = self.models.route(plan_id)
        if self.actor is None:
            if route is None or route.plan_id != plan_id:
                raise Refused("not_found", "--plan", say("plan_not_found", id=short(plan_id)))
            return self.access.parties(route.groupement_id)
        try:
            return self.access.readable_plan(self.actor, plan_id)[1]
        except DomainError:
            raise Refused("not_found", "--plan", say("plan_not_found", id=short(plan_id))) from None

    def balance(self, parties: Parties | None, balance: dict[str, Any]) -> dict[str, Any]:
        """The balance as the audience may see it: the API's own filter."""
        if self.actor is None or parties is None:
            return balance
        return self.access.balance_for(self.actor, parties, balance)

    def visible_members(self, parties: Parties | None) -> set[str] | None:
        if self.actor is None or parties is None:
            return None
        return self.access.visible_members(self.actor, parties)

    def member(self, parties: Parties | None, member_id: str, option: str = "--member") -> None:
        """Refuses unless the audience may see this member's details (the rule of the member's view)."""
        if self.actor is None:
            return
        if not self.access.policy.allowed(self.actor, READ_MEMBER, parties, member_id):
            raise Refused("forbidden", option, say("member_forbidden", actor=f"{self.actor.role.value} "
                                                                             f"{self.actor.organisation_id}"))

    def groupements(self) -> set[str] | None:
        """The groupements the audience may read (None: all)."""
        if self.actor is None:
            return None
        self.models.fresh(None)
        return set(self.access.readable_groupements(self.actor))

    def history(self, aggregate_id: str) -> None:
        if self.actor is None:
            return
        self.models.fresh(None)
        try:
            self.access.check_history(self.actor, self.access.groupement_of(aggregate_id))
        except Denied:
            raise Refused("forbidden", "aggregate_id", say("forbidden", actor=f"{self.actor.role.value} "
                          f"{self.actor.organisation_id}", action="historique")) from None


def parse_time(value: str, option: str = "--as-of") -> str:
    """An ISO 8601 date or time, as the log records times (projections/as_of.py `recording_instant`)."""
    try:
        return recording_instant(value)
    except ValueError:
        raise Refused("invalid_input", option, say("bad_time", value=short(value, 30))) from None


def parse_position(value: str, option: str = "--position") -> int:
    try:
        position = int(value)
    except ValueError:
        raise Refused("invalid_input", option, say("bad_position", value=short(value, 20))) from None
    if position < 1:
        raise Refused("invalid_input", option, say("bad_position", value=short(value, 20)))
    return position


def read_moment(models: ReadModels, on: str | None, as_known_at: str | None, as_of: str | None,
                position: str | None) -> Moment:
    """Both time axes of a read (services/time_axes.py): `--on` a business date, and `--as-known-at` (an instant
    or a position; `--as-of` and `--position` are its former forms) what the log held then. A moment before
    anything was recorded is no refusal: the read answers an empty state with a notice."""
    given = [option for option, value in (("--as-known-at", as_known_at), ("--as-of", as_of),
                                          ("--position", position)) if value is not None]
    if len(given) > 1:
        raise Refused("invalid_input", given[-1], say("both_moments") if "--as-known-at" not in given
                      else say("one_moment"))
    day = None
    if on is not None:
        try:
            day = business_day(on, "--on")
        except DomainError:
            raise Refused("invalid_input", "--on", say("bad_day", value=short(on, 30))) from None
    if as_known_at is not None:
        if as_known_at.strip().isdigit():
            return Moment(day, checked_position(models, as_known_at, "--as-known-at"), None, "--as-known-at",
                          as_known_at, "--on")
        return Moment(day, None, parse_time(as_known_at, "--as-known-at"), "--as-known-at", as_known_at, "--on")
    if position is not None:
        return Moment(day, checked_position(models, position), None, "--position", position, "--on")
    if as_of is not None:
        return Moment(day, None, parse_time(as_of), "--as-of", as_of, "--on")
    return Moment(day, on_field="--on")


def checked_position(models: ReadModels, value: str, option: str = "--position") -> int:
    at = parse_position(value, option)
    head = models.app.max_notification_id() or 0
    if at > head:
        raise Refused("invalid_input", option, say("position_beyond", head=head, value=at))
    return at
