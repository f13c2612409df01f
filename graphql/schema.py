"""The GraphQL schema of progres, with its safety limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxTokensLimiter, ParserCache, SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection

from progres.domain.errors import DomainError
from progres.graphql.descriptions import describe, french_scalars
from progres.graphql.limits import DocumentLimits, Limits
from progres.graphql.loaders import RequestCache, ResponseCache
from progres.graphql.mutations import Mutation, camel
from progres.graphql.notices import Notices
from progres.graphql.queries import Query
from progres.graphql.scalars import scalar_map
from progres.graphql.subscriptions import Subscription
from progres.graphql.types import (
    Action,
    Avenant,
    Axis,
    CaoOpinion,
    DocumentInput,
    DocumentRef,
    Event,
    EventFilter,
    Groupement,
    Indicator,
    Marche,
    Measure,
    Membership,
    MemberView,
    Objective,
    Organisation,
    PageInfo,
    Plan,
    PlanBalance,
    Proposal,
    ReplayStep,
    Review,
    UserError,
)
from progres.graphql.views import (
    BalanceIndicator,
    GainBalance,
    MemberIndicator,
    PeriodFigure,
    ProposalTally,
    ReviewTally,
)
from progres.services.observability import ObservedOperation
from progres.services.settings import Settings


def shown_to_clients(error: GraphQLError) -> bool:
    """Errors a client can act on are shown; anything else is masked as an internal error."""
    original = error.original_error
    if original is None:
        return True  # syntax, validation and limit errors
    return isinstance(original, DomainError | PermissionError | ValueError | GraphQLError)


def answered_errors(context: Any) -> list[GraphQLError]:
    """The errors of the answer: the result's, or those met before execution (a syntax error, a limit) when
    the request stopped there and no result was recorded."""
    return list(getattr(context.result, "errors", None) or context.pre_execution_errors or [])


class ErrorCodes(SchemaExtension):
    """Gives every error a client can act on a stable code (and the field at fault) in its extensions."""

    def on_operation(self) -> Iterator[None]:
        yield
        code_errors(answered_errors(self.execution_context))

    def on_stream_result(self, result: Any) -> Iterator[None]:  # each result a subscription sends
        code_errors(getattr(result, "errors", None) or [])
        yield


def graphql_field(field: str | None) -> str | None:
    """A refusal's field in the API's names: the services name their arguments in Python (`plan_id`), the client
    wrote `planId`; each name of a path (`rows[0].value_text`) is renamed as the mutations' arguments are."""
    if not field or "_" not in field:
        return field
    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda name: camel(name.group()), field)


def code_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        original = error.original_error
        if isinstance(original, DomainError):
            field = graphql_field(original.field)
            if field != original.field and error.message.startswith(f"{original.field}: "):
                error.message = f"{field}: {error.message[len(original.field) + 2:]}"
            error.extensions = {**(error.extensions or {}), "code": original.code, "field": field}
        elif isinstance(original, PermissionError):
            error.extensions = {**(error.extensions or {}), "code": "unauthenticated"}
        elif original is None and "code" not in (error.extensions or {}):
            error.extensions = {**(error.extensions or {}), "code": "bad_request"}


class MaskInternal(MaskErrors):
    """Masked errors say `internal` (never `bad_request`): the client did nothing wrong it could fix."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "internal"}
        return masked


MAX_MESSAGE = 500


class BoundedMessages(SchemaExtension):
    """No error message repeats a long input: whatever a message quotes, it stops after a short prefix."""

    def on_operation(self) -> Iterator[None]:
        yield
        bound_messages(answered_errors(self.execution_context))

    def on_stream_result(self, result: Any) -> Iterator[None]:
        bound_messages(getattr(result, "errors", None) or [])
        yield


def bound_messages(errors: list[GraphQLError]) -> None:
    for error in errors:
        if len(error.message) > MAX_MESSAGE:
            error.message = error.message[:MAX_MESSAGE] + "…"


class ProgresSchema(strawberry.Schema):
    """Logs only the errors it masks (unexpected ones): a refused document or a client's mistake is answered
    with its code, not written to the log with a traceback (abusive traffic would flood the log and the loop)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:  # syntax errors stop a request before any extension sees its answer: code them here
            if error.original_error is None and "code" not in (error.extensions or {}):
                error.extensions = {**(error.extensions or {}), "code": "bad_request"}
        super().process_errors([e for e in errors if not shown_to_clients(e)], execution_context)


# Descriptions a definition leaves empty, from the French glossary (graphql/descriptions.py).
describe(UserError, ReplayStep, PageInfo, Organisation, Membership, Avenant, Marche, Measure, Indicator,
         Objective, Axis, Action, Proposal, Review, Plan, Groupement, Event, MemberView, PlanBalance, DocumentInput,
         EventFilter, DocumentRef, CaoOpinion, Query, Mutation, Subscription, MemberIndicator, BalanceIndicator,
         PeriodFigure, ProposalTally, ReviewTally, GainBalance)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    production = settings.environment == "production"
    limits = Limits(settings.graphql_max_depth, settings.graphql_max_fields, settings.graphql_max_aliases)
    extensions: list[Any] = [
        ObservedOperation,  # first: it reads the codes the extensions after it give (services/observability.py)
        lambda: ParserCache(maxsize=256),  # clients repeat the same operations: parse and validate them once
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        # Depth, fields and aliases costed with each fragment once, then validation (cached): graphql/limits.py.
        lambda: DocumentLimits(limits, hide_suggestions=production),
        BoundedMessages,
        ErrorCodes,
        Notices,  # a read's notices (nothing recorded yet…) in the answer's extensions
        RequestCache,  # objects read by reference, once per operation (graphql/loaders.py)
        # memberView and planBalance answered again while the read models have not moved (graphql/loaders.py)
        lambda: ResponseCache(settings.graphql_response_cache),
        lambda: MaskInternal(should_mask_error=lambda error: not shown_to_clients(error),
                             error_message="internal error: it was logged; try again or tell the platform's operators"),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return ProgresSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                         scalar_overrides=french_scalars() | scalar_map())


schema = build_schema(Settings(environment="development"))
