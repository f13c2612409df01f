"""Mutations: one per command of services/commands.py, generated from the command's own signature so that
the API and the services cannot drift apart. Each checks the policy, runs the command, and answers with
the id written and the log position, or a typed error; a `commandId` makes a retry safe."""

from __future__ import annotations

import inspect
import typing
from dataclasses import asdict, is_dataclass
from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from progres.domain.errors import DomainError, InvalidInput
from progres.graphql.context import actor_of, context_of, off_loop
from progres.graphql.descriptions import MUTATIONS, argument_description
from progres.graphql.input_types import TYPED_ARGUMENTS, graphql_path
from progres.graphql.inputs import check_json_shapes
from progres.graphql.types import DocumentInput, MutationResult, UserError
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

# Python annotations of the commands → GraphQL input types.
TYPE_MAP: dict[str, Any] = {
    "str": str, "int": int, "bool": bool, "UUID | str": strawberry.ID, "date | str": date, "Any": JSON,
    "dict[str, Any]": JSON, "list[dict[str, Any]]": list[JSON], "list[UUID | str]": list[strawberry.ID],
    "list[str]": list[str], "dict[str, str] | None": DocumentInput | None, "str | None": str | None,
    "UUID | str | None": strawberry.ID | None, "list[UUID | str] | None": list[strawberry.ID] | None,
    "list[dict[str, Any]] | None": list[JSON] | None, "dict[str, Any] | None": JSON | None,
    "date | str | None": date | None,
}
ALIASES = {"Day": "date | str", "Doc": "dict[str, str] | None", "Day | None": "date | str | None"}


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
    return value


def run_as(organisation_id: str, command: Any, arguments: dict[str, Any]) -> Any:
    """Runs a command for the caller's organisation: its command ids are a namespace of its own."""
    with acting_for(organisation_id):
        return command(**arguments)


def camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


def deprecated_for(typed_name: str) -> str:
    return f"Remplacé par `{camel(typed_name)}`, typé ; retiré dans une version ultérieure (docs/graphql.md)."


def make_mutation(command: str) -> Any:
    method = getattr(Progres, command)
    signature = inspect.signature(method)
    typed_arguments = TYPED_ARGUMENTS.get(command, {})
    parameters = [inspect.Parameter("info", inspect.Parameter.KEYWORD_ONLY, annotation=Info)]
    required: set[str] = set()
    for name, parameter in signature.parameters.items():
        if name == "self":
            continue
        kind = graphql_type(str(parameter.annotation))
        if parameter.default is None and typing.get_origin(kind) is not typing.Union and "None" not in str(kind):
            kind = kind | None  # an argument the command defaults to None is optional in GraphQL too
        default = parameter.default
        if default is inspect.Parameter.empty and str(parameter.annotation).endswith("| None"):
            default = None  # a command's nullable argument (a foreign buyer's absent SIRET) may be left out
        deprecation = None
        typed = typed_arguments.get(name)
        if typed is not None:  # the JSON argument stays, optional and deprecated, beside its typed argument
            if default is inspect.Parameter.empty:
                required.add(name)
            kind, default, deprecation = (kind | None if "None" not in str(kind) else kind), None, \
                deprecated_for(typed.name)
        described = Annotated[kind, strawberry.argument(description=argument_description(command, name.rstrip("_")),
                                                        deprecation_reason=deprecation)]
        parameters.append(inspect.Parameter(name.rstrip("_"), inspect.Parameter.KEYWORD_ONLY, annotation=described,
                                            default=default))
        if typed is not None:
            parameters.append(inspect.Parameter(typed.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=(
                Annotated[typed.kind | None, strawberry.argument(description=argument_description(command,
                                                                                                  typed.name))])))
    renamed = {name.rstrip("_"): name for name in signature.parameters if name.endswith("_")}

    async def resolver(info: Info, **kwargs: Any) -> MutationResult:
        services, actor = context_of(info).services, actor_of(info)
        used: dict[str, Any] = {}  # JSON parameter → the typed value the client gave for it
        try:
            for parameter, typed in typed_arguments.items():
                value = kwargs.pop(typed.name, None)
                if value is not None and kwargs.get(parameter) is not None:
                    raise InvalidInput(camel(typed.name), rule=f"donnez {camel(typed.name)} ou sa forme dépréciée "
                                                               f"{camel(parameter)}, pas les deux")
                if value is not None:
                    used[parameter] = value
                    kwargs[parameter] = typed.to_command(value)
                elif parameter in required and kwargs.get(parameter) is None:
                    raise InvalidInput(camel(typed.name), rule=f"{camel(typed.name)} est obligatoire")
            arguments = {renamed.get(k, k): v if k in used else plain_argument(v) for k, v in kwargs.items()}
            check_json_shapes(signature, arguments, camel)
            await off_loop(services.access.authorize_command, actor, command, arguments)
            result = await off_loop(run_as, actor.organisation_id, getattr(services.app, command), arguments)
        except DomainError as error:
            observe_command(command, error.code)
            if used:  # the client wrote typed arguments: the refusal names them as GraphQL does
                error.field = graphql_path(command, error.field, used, camel)
            return MutationResult(ok=False, id=None, position=None, error=UserError.from_error(error))
        observe_command(command, None)
        return MutationResult(ok=True, id=strawberry.ID(result.id) if result.id else None, position=result.position,
                              replayed=result.replayed)

    resolver.__signature__ = inspect.Signature(parameters, return_annotation=MutationResult)  # type: ignore[attr-defined]
    resolver.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": MutationResult}
    resolver.__name__ = command
    return strawberry.mutation(resolver=resolver, name=camel(command), description=MUTATIONS[command])


Mutation = strawberry.type(
    type("Mutation", (), {"__annotations__": {}, **{command: make_mutation(command) for command in COMMANDS}}),
    description="Les commandes de la plateforme progres. Une commande refusée n'écrit rien et dit pourquoi.",
)
