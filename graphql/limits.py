"""Limits of a GraphQL document, computed before validation in time linear in the document's size.

A fragment spread twice by each of n fragments expands to 2^n fields: a walker that expands spreads (as
strawberry's depth and alias limiters do) takes 2^n steps on the event loop. Here each fragment is costed once
(memoised) and the costs are composed: depth, fields and aliases *after* expansion are known without
expanding anything, so a 1 kB fan-out document is refused in microseconds, before graphql-core's own
validation (whose rules would also walk the expansion) ever sees it.

The same extension runs the validation (cached, as strawberry's ValidationCache does) only once the document
is within the limits, and, when introspection is off, strips "Did you mean …?" suggestions from every error.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(frozen=True)
class Cost:
    """What a selection set weighs once every fragment in it is expanded."""

    depth: int = 0
    fields: int = 0
    aliases: int = 0

    def under(self, field: FieldNode) -> Cost:
        """A field holding this as its selection set. Depth counts the levels of selection sets (a leaf adds
        none, as strawberry's depth limiter counted); introspection (`__schema`, `__type`) adds no depth, its
        fields still count (introspection is off in production)."""
        nests = field.selection_set is not None and not field.name.value.startswith("__")
        return Cost(1 + self.depth if nests else 0, 1 + self.fields, self.aliases + (1 if field.alias else 0))

    def __add__(self, other: Cost) -> Cost:
        return Cost(max(self.depth, other.depth), self.fields + other.fields, self.aliases + other.aliases)


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_fields: int
    max_aliases: int


class LimitExceeded(GraphQLError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, extensions={"code": code})


def document_cost(document: DocumentNode) -> Cost:
    """The heaviest operation of the document (only one runs), every fragment costed once."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, Cost] = {}
    in_progress: set[str] = set()

    def fragment(name: str) -> Cost:
        if name in memo:
            return memo[name]
        if name in in_progress or name not in fragments:
            return Cost()  # a cycle or an unknown fragment: graphql-core's validation refuses the document
        in_progress.add(name)
        memo[name] = selection_set(fragments[name].selection_set)
        in_progress.discard(name)
        return memo[name]

    def selection_set(node: SelectionSetNode | None) -> Cost:
        total = Cost()
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total = total + selection_set(selection.selection_set).under(selection)
            elif isinstance(selection, InlineFragmentNode):
                total = total + selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total = total + fragment(selection.name.value)
        return total

    costs = [selection_set(d.selection_set) for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    # Fragments no operation uses are weighed too (graphql-core's validation walks them as well); their depth
    # depends on where they would be spread, so only operations give the depth.
    weights = costs + [fragment(name) for name in fragments]
    return Cost(max((c.depth for c in costs), default=0), max((c.fields for c in weights), default=0),
                max((c.aliases for c in weights), default=0))


def holds_nul(value: object) -> bool:
    """Whether a NUL character hides in a (nested) input: no identifier or text of progres may hold one, and
    PostgreSQL refuses it in text, so it is refused here with a code rather than met by the database."""
    pending = [value]
    while pending:  # iterative: the body's nesting is bounded, but never trust a recursion on input
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.nul = False

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        self.nul = self.nul or "\x00" in node.value


def nul_refusal(in_literals: bool, variables: object) -> GraphQLError | None:
    if in_literals or holds_nul(variables):
        return LimitExceeded("invalid_input", "une valeur contient un caractère NUL (U+0000), interdit")
    return None


def refusal(cost: Cost, limits: Limits) -> LimitExceeded | None:
    if cost.depth > limits.max_depth:
        return LimitExceeded("query_too_deep", f"requête trop profonde : {cost.depth} niveaux de champs, "
                             f"au plus {limits.max_depth} (exceeds maximum operation depth)")
    if cost.fields > limits.max_fields:
        return LimitExceeded("query_too_large", f"requête trop grande : {cost.fields} champs une fois les fragments "
                             f"développés, au plus {limits.max_fields}")
    if cost.aliases > limits.max_aliases:
        return LimitExceeded("too_many_aliases", f"trop d'alias : {cost.aliases}, au plus {limits.max_aliases} "
                             "(aliases)")
    return None


class _Recent:
    """A small LRU keyed by the query's text (a str caches its hash; a graphql-core node rehashes its whole tree
    on every lookup, which cost more than the checks themselves)."""

    def __init__(self, size: int) -> None:
        self.size, self.items = size, OrderedDict[Hashable, Any]()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = self.items[key] = compute()
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


_COSTS = _Recent(256)  # query text → (cost, whether a literal holds NUL)
_VALIDATIONS = _Recent(256)  # (query text, schema, rules) → validation errors


class DocumentLimits(SchemaExtension):
    """Refuses documents beyond the limits before validation; then validates (cached); hides suggestions."""

    def __init__(self, limits: Limits, hide_suggestions: bool) -> None:
        super().__init__()
        self.limits = limits
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document, query = context.graphql_document, context.query
        if document is not None:
            def weigh() -> tuple[Cost, bool]:
                literals = _Literals()
                visit(document, literals)
                return document_cost(document), literals.nul

            cost, nul = _COSTS.get(query, weigh) if query else weigh()
            refused = refusal(cost, self.limits) or nul_refusal(nul, context.variables)
            if refused is not None:
                context.pre_execution_errors = [refused]
            else:
                def validated() -> list[GraphQLError]:
                    return validate_document(context.schema._schema, document, context.validation_rules)

                key = (query, id(context.schema), context.validation_rules)
                context.pre_execution_errors = _VALIDATIONS.get(key, validated) if query else validated()
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        if not self.hide_suggestions:
            return
        context = self.execution_context
        for error in getattr(context.result, "errors", None) or context.pre_execution_errors or []:
            error.message = SUGGESTION.sub("", error.message)
