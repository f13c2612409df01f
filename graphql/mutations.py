"""Mutations: one per command of services/commands.py, generated from the command's own signature so that
the API and the services cannot drift apart, in the Relay style: `recordMeasure(input: RecordMeasureInput!)`
answers a `RecordMeasurePayload` with the changed object (`measure`), `userErrors { code field message }` (the
code an enum, the field a path of GraphQL names such as `input.measures.3.value`), the log position, the
`commandId` and whether it was a replay. Each checks the policy, runs the command, and writes nothing when it
refuses.

The flat arguments of the first contract (`recordMeasure(planId: …, value: …)`) and the payload fields `ok`, `id`
and `error` still work, deprecated: a mutation takes `input` or its flat arguments, not both. The flat arguments of
`JSON` type are gone (the `JSON` scalar is no longer in the schema): a flat call gives their typed twin
(`importMeasures(measures: …)` for `rows`, `defineIndicator(indicator: …)` for `spec`), or better `input`.
"""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from progres.domain.errors import DomainError, InvalidInput
from progres.graphql.context import actor_of, context_of, off_loop
from progres.graphql.descriptions import MUTATIONS, argument_description
from progres.graphql.enums import (
    ActionStatus,
    BuyerKind,
    DecisionOutcome,
    MarcheNature,
    MemberSplit,
    ObjectiveKind,
    OrganisationKind,
    Party,
    PointKind,
    ProposalKind,
    Settlement,
    SmallModificationsReading,
    WithdrawalClause,
)
from progres.graphql.input_types import TYPED_ARGUMENTS, graphql_path
from progres.graphql.payloads import CHANGED, DESCRIPTIONS, changed_object
from progres.graphql.scalars import Decimal
from progres.graphql.types import DocumentInput, UserError
from progres.services.applications import acting_for
from progres.services.commands import Progres
from progres.services.observability import observe_command

COMMANDS = [
    "register_organisation", "constitute_groupement", "admit_member", "release_member", "assign_auditor",
    "notify_marche", "close_marche", "draw_up_plan", "add_axis", "add_objective", "define_indicator",
    "plan_action", "change_action_status", "commit_resource", "schedule_milestone", "define_gain_sharing",
    "define_governance", "declare_purchase_volume", "close_plan_with_bilan_final", "record_measure",
    "import_measures", "correct_measure", "submit_proposal", "withdraw_proposal", "schedule_review", "hold_review",
    "raise_point", "decide", "close_review", "propose_avenant", "sign_avenant", "notify_avenant",
    "abandon_avenant", "import_purchases", "record_cao_opinion", "correct_particulars",
    "choose_small_modifications_reading",
]

# Python annotations of the commands → GraphQL input types. A parameter the command takes as `Any` or as a dict is
# an amount (AMOUNTS, `Decimal`) or has a typed argument (graphql/input_types.py TYPED_ARGUMENTS): there is no
# `JSON` scalar, and a new untyped parameter fails the schema's build here rather than reaching clients as one.
TYPE_MAP: dict[str, Any] = {
    "str": str, "int": int, "bool": bool, "UUID | str": strawberry.ID, "date | str": date,
    "list[UUID | str]": list[strawberry.ID],
    "list[str]": list[str], "dict[str, str] | None": DocumentInput | None, "str | None": str | None,
    "UUID | str | None": strawberry.ID | None, "list[UUID | str] | None": list[strawberry.ID] | None,
    "date | str | None": date | None,
}
ALIASES = {"Day": "date | str", "Doc": "dict[str, str] | None", "Day | None": "date | str | None"}

# The amounts and values a command takes as `Any` (a decimal number, checked by the domain): `Decimal`.
AMOUNTS = {"initial_amount", "amount", "value", "expected_gain"}

# The closed sets a command takes as `str`: their enums in the input types.
CLOSED_SETS: dict[tuple[str, str], Any] = {
    ("register_organisation", "kind"): OrganisationKind,
    ("constitute_groupement", "withdrawal_clause"): WithdrawalClause,
    ("notify_marche", "nature"): MarcheNature,
    ("notify_marche", "buyer_kind"): BuyerKind,
    ("add_objective", "kind"): ObjectiveKind,
    ("plan_action", "owner"): Party,
    ("change_action_status", "status"): ActionStatus,
    ("commit_resource", "party"): Party,
    ("define_gain_sharing", "member_split"): MemberSplit,
    ("define_gain_sharing", "settlement"): Settlement,
    ("submit_proposal", "kind"): ProposalKind,
    ("raise_point", "kind"): PointKind,
    ("decide", "outcome"): DecisionOutcome,
    ("choose_small_modifications_reading", "reading"): SmallModificationsReading,
}

# Fields the domain names by its own word where the command's parameter has another name.
FIELD_ALIASES = {("change_action_status", "action_key"): "key"}

FLAT_DEPRECATED = "Donnez plutôt `input` (contrat typé, docs/graphql.md) ; retiré dans une version ultérieure."


def graphql_type(annotation: str) -> Any:
    text = ALIASES.get(annotation, annotation)
    if text not in TYPE_MAP:
        raise TypeError(f"no GraphQL input type for {annotation!r}")
    return TYPE_MAP[text]


def plain_argument(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list):
        return [plain_argument(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def run_as(organisation_id: str, command: Any, arguments: dict[str, Any]) -> Any:
    """Runs a command for the caller's organisation: its command ids are a namespace of its own."""
    with acting_for(organisation_id):
        return command(**arguments)


def camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


def pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def nullable(annotation: str) -> bool:
    return ALIASES.get(annotation, annotation).endswith("| None")


def input_kind(command: str, name: str, annotation: str) -> Any:
    """The GraphQL type of a command's parameter in its input type (without its nullability)."""
    typed = TYPED_ARGUMENTS.get(command, {}).get(name)
    if typed is not None:
        return typed.kind
    if (command, name) in CLOSED_SETS:
        return CLOSED_SETS[command, name]
    if name in AMOUNTS and annotation == "Any":
        return Decimal
    kind = graphql_type(annotation)
    return typing.get_args(kind)[0] if typing.get_origin(kind) in (typing.Union, type(int | None)) else kind


def field_name(command: str, name: str) -> str:
    """The Python name of a parameter's field in the input type: an untyped parameter is named by its typed form."""
    typed = TYPED_ARGUMENTS.get(command, {}).get(name)
    return typed.name if typed is not None else name.rstrip("_")


def make_input(command: str, signature: inspect.Signature) -> Any:
    """`RecordMeasureInput`: one field per parameter of the command, typed, described in French."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if name == "self":
            continue
        annotation = str(parameter.annotation)
        kind = input_kind(command, name, annotation)
        python = field_name(command, name)
        required = parameter.default is inspect.Parameter.empty and not nullable(annotation)
        annotations[python] = kind if required else kind | None
        description = argument_description(command, python)
        namespace[python] = strawberry.field(description=description) if required else \
            strawberry.field(default=None, description=description)
    namespace["__annotations__"] = annotations
    namespace["__doc__"] = None
    return strawberry.input(type(f"{pascal(command)}Input", (), namespace),
                            description=f"Les arguments de `{camel(command)}`.")


def make_payload(command: str) -> Any:
    """`RecordMeasurePayload`: what the command did (log position, command id, replay), the changed object(s),
    `userErrors`, and the deprecated `ok`, `id`, `error` of the first contract."""
    namespace: dict[str, Any] = {
        "__annotations__": {
            "user_errors": list[UserError], "position": int | None, "command_id": str | None, "replayed": bool,
            "ok": bool, "id": strawberry.ID | None, "error": UserError | None,
            "object_ids": strawberry.Private[dict[str, str | None]],
        },
        "user_errors": strawberry.field(description="Pourquoi la commande a été refusée (vide si elle a été "
                                                    "acceptée) : code stable, chemin du champ en faute, message."),
        "position": strawberry.field(description="Position du journal après la commande : la passer en "
                                                 "`minPosition` pour relire sa propre écriture ; null si refusée."),
        "command_id": strawberry.field(description="L'identifiant de commande donné par le client, renvoyé tel "
                                                   "quel : rejouer la même commande avec lui ne l'écrit pas deux "
                                                   "fois."),
        "replayed": strawberry.field(description="Vrai si cet identifiant de commande a déjà été vu : la réponse est "
                                                 "celle de la première fois, rien n'est écrit."),
        "ok": strawberry.field(description="Vrai si la commande a été acceptée.",
                               deprecation_reason="Lisez `userErrors` (vide quand la commande est acceptée)."),
        "id": strawberry.field(description="Identifiant de l'entité écrite (pour un avenant : `<id du marché>#"
                                           "<numéro>`).",
                               deprecation_reason="Lisez l'objet changé de ce résultat (ex. `measure { id }`)."),
        "error": strawberry.field(default=None, description="Pourquoi la commande a été refusée (champ en noms "
                                                            "Python quand les arguments plats sont donnés).",
                                  deprecation_reason="Lisez `userErrors`."),
    }
    for changed in CHANGED[command]:
        namespace[changed.field] = changed_field(changed.field, changed.kind)
    return strawberry.type(type(f"{pascal(command)}Payload", (), namespace),
                           description=f"Ce qu'a fait `{camel(command)}` : l'objet changé, la position atteinte dans "
                                       "le journal, ou pourquoi elle a été refusée.")


def changed_field(field: str, kind: type) -> Any:
    async def resolve(self: Any, info: Info) -> Any:
        services, actor = context_of(info).services, actor_of(info)
        return await off_loop(changed_object, services, actor, field, self.object_ids.get(field), self.position)

    resolve.__annotations__ = {"info": Info, "return": kind | None}
    resolve.__name__ = field
    return strawberry.field(resolver=resolve, description=DESCRIPTIONS[field] + " Null si la commande est "
                                                                                "refusée, ou hors de ce que "
                                                                                "l'appelant peut lire.")


def input_path(path: str | None) -> str | None:
    """`measures[3].value` → `input.measures.3.value`: a path of GraphQL names under the `input` argument."""
    if path is None:
        return None
    if path == "input" or path.startswith("input."):
        return path
    return "input." + re.sub(r"\[(\d+)\]", r".\1", path)


def flat_path(path: str | None) -> str | None:
    return None if path is None else re.sub(r"\[(\d+)\]", r".\1", path)


def bare_message(error: DomainError) -> str:
    """The message without the Python name of the field in front (userErrors gives the field as a path)."""
    field, error.field = error.field, None
    try:
        return error.message
    finally:
        error.field = field


@dataclass(frozen=True)
class Command:
    """A command of services/commands.py as its mutation reads it."""

    name: str
    signature: inspect.Signature
    typed_arguments: dict[str, Any]
    required: frozenset[str]  # the parameters a flat call must give (GraphQL cannot require a deprecated one)
    renamed: dict[str, str]  # GraphQL-side Python name → the command's (`measure_id` → `measure_id_`)
    defaults: frozenset[str]  # the parameters the command defaults

    @classmethod
    def of(cls, name: str) -> Command:
        signature = inspect.signature(getattr(Progres, name))
        parameters = {k: p for k, p in signature.parameters.items() if k != "self"}
        return cls(name, signature, TYPED_ARGUMENTS.get(name, {}),
                   frozenset(k for k, p in parameters.items()
                             if p.default is inspect.Parameter.empty and not nullable(str(p.annotation))),
                   {k.rstrip("_"): k for k in parameters if k.endswith("_")},
                   frozenset(k for k, p in parameters.items() if p.default is not inspect.Parameter.empty))


def flat_parameters(command: Command) -> list[inspect.Parameter]:
    """The deprecated flat arguments of the first contract, all optional (a deprecated one cannot be required). A
    parameter the command takes untyped (a dict, rows of dicts) is given by its typed twin (`measures` for `rows`):
    its `JSON` flat argument was removed with the `JSON` scalar."""
    parameters = []
    for name, parameter in command.signature.parameters.items():
        if name == "self":
            continue
        typed = command.typed_arguments.get(name)
        if typed is None:
            annotation = str(parameter.annotation)
            kind = Decimal if name in AMOUNTS and annotation == "Any" else graphql_type(annotation)
            if "None" not in str(kind) and typing.get_origin(kind) is not typing.Union:
                kind = kind | None
            described = Annotated[kind, strawberry.argument(
                description=argument_description(command.name, name.rstrip("_")),
                deprecation_reason=FLAT_DEPRECATED)]
            parameters.append(inspect.Parameter(name.rstrip("_"), inspect.Parameter.KEYWORD_ONLY,
                                                annotation=described, default=None))
        else:
            parameters.append(inspect.Parameter(typed.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=(
                Annotated[typed.kind | None, strawberry.argument(
                    description=argument_description(command.name, typed.name),
                    deprecation_reason=FLAT_DEPRECATED)])))
    return parameters


def flat_arguments(command: Command, kwargs: dict[str, Any], used: dict[str, Any]) -> dict[str, Any]:
    """The command's arguments from the deprecated flat arguments, as the first contract read them."""
    for parameter, typed in command.typed_arguments.items():
        value = kwargs.pop(typed.name, None)
        if value is not None:
            used[parameter] = value
            kwargs[parameter] = typed.to_command(value)
        elif parameter in command.required and kwargs.get(parameter) is None:
            raise InvalidInput(camel(typed.name), rule=f"{camel(typed.name)} est obligatoire")
    arguments = {}
    for key, value in kwargs.items():
        name = command.renamed.get(key, key)
        if value is not None or name not in command.defaults:  # an argument left out takes the command's default
            arguments[name] = value if name in used else plain_argument(value)
    missing = next((name for name in command.signature.parameters
                    if name in command.required and arguments.get(name) is None), None)
    if missing is not None:
        raise InvalidInput(camel(missing), rule=f"{camel(missing)} est obligatoire")
    return arguments


def input_arguments(command: Command, value: Any, used: dict[str, Any]) -> dict[str, Any]:
    """The command's arguments from its input object."""
    arguments: dict[str, Any] = {}
    for name, parameter in command.signature.parameters.items():
        if name == "self":
            continue
        given = getattr(value, field_name(command.name, name))
        if given is None:
            if parameter.default is inspect.Parameter.empty:
                arguments[name] = None  # a nullable parameter without default (a groupement-wide measure)
            continue
        typed = command.typed_arguments.get(name)
        if typed is not None:
            arguments[name] = typed.to_command(given)
            used[name] = given
        else:
            arguments[name] = plain_argument(given)
    return arguments


def refused(command: Command, payload_type: Any, error: DomainError, used: dict[str, Any], through_input: bool,
            command_id: str | None) -> Any:
    """The payload of a refused command: `userErrors` in GraphQL paths, `error` as the first contract said it."""
    observe_command(command.name, error.code)
    path = graphql_path(command.name, error.field, used, camel)
    named = graphql_path(command.name, FIELD_ALIASES.get((command.name, error.field or ""), error.field), used, camel)
    user_error = UserError(code=error.code, field=input_path(named) if through_input else flat_path(named),
                           message=bare_message(error))
    if used:  # the client wrote typed arguments: the refusal names them as GraphQL does
        error.field = path
    legacy = user_error if through_input else UserError.from_error(error)
    return payload_type(user_errors=[user_error], position=None, command_id=command_id, replayed=False, ok=False,
                        id=None, error=legacy, object_ids={})


def make_mutation(name: str) -> Any:
    command = Command.of(name)
    input_type = make_input(name, command.signature)
    payload_type = make_payload(name)
    parameters = [inspect.Parameter("info", inspect.Parameter.KEYWORD_ONLY, annotation=Info),
                  inspect.Parameter("input", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
                      input_type | None, strawberry.argument(
                          description="Les arguments de la commande (à donner plutôt que les arguments plats, "
                                      "dépréciés).")]),
                  *flat_parameters(command)]

    async def resolver(info: Info, **kwargs: Any) -> Any:
        services, actor = context_of(info).services, actor_of(info)
        used: dict[str, Any] = {}  # untyped parameter → the typed value the client gave for it
        given = kwargs.pop("input", None)
        command_id = None
        try:
            if given is not None:
                if any(v is not None for v in kwargs.values()):
                    raise InvalidInput("input", rule="donnez `input` ou les arguments plats dépréciés, pas les deux")
                arguments = input_arguments(command, given, used)
            else:
                arguments = flat_arguments(command, kwargs, used)
            command_id = arguments.get("command_id")
            await off_loop(services.access.authorize_command, actor, name, arguments)
            result = await off_loop(run_as, actor.organisation_id, getattr(services.app, name), arguments)
        except DomainError as error:
            return refused(command, payload_type, error, used, given is not None, command_id)
        observe_command(name, None)
        written = str(result.id) if result.id else None
        object_ids = {c.field: (str(arguments[c.source]) if c.source and arguments.get(c.source) else written)
                      for c in CHANGED[name]}
        return payload_type(user_errors=[], position=result.position, command_id=command_id,
                            replayed=result.replayed, ok=True, id=strawberry.ID(written) if written else None,
                            error=None, object_ids=object_ids)

    resolver.__signature__ = inspect.Signature(parameters, return_annotation=payload_type)  # type: ignore[attr-defined]
    resolver.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": payload_type}
    resolver.__name__ = name
    return strawberry.mutation(resolver=resolver, name=camel(name), description=MUTATIONS[name])


Mutation = strawberry.type(
    type("Mutation", (), {"__annotations__": {}, **{command: make_mutation(command) for command in COMMANDS}}),
    description="Les commandes de la plateforme progres. Une commande refusée n'écrit rien et dit pourquoi.",
)
