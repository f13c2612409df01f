"""The console speaks only the typed contract: every GraphQL document it can send (each module-level document of
console/, mutations made by `operations.command`) is valid against the live schema, uses no field or argument marked
`@deprecated` (graphql-core's `NoDeprecatedCustomRule`) and reads no `JSON` field; each mutation gives its one
`input` and reads `userErrors` and `position`, not the deprecated `ok`, `id`, `error`. And the check can fail: the
first contract's documents are refused by it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.validation import NoDeprecatedCustomRule

import progres.console
from progres.console.setup import SETUP_STEPS
from progres.console.web import AVENANT_STEPS
from progres.graphql.schema import schema

CONSOLE = Path(progres.console.__file__).parent
RUNNERS = {"run", "read", "read_all", "groupements", "command"}  # the Executor's methods that send a document


def live_schema() -> GraphQLSchema:
    """The schema the server runs, through its SDL (graphql-core's rule names a deprecated argument by its field's
    SDL node, which a schema built in code has not)."""
    return build_schema(schema.as_str())


def console_documents() -> dict[str, str]:
    """`module.NAME` → each module-level string of console/ that is a GraphQL operation."""
    found: dict[str, str] = {}
    for module_info in pkgutil.iter_modules([str(CONSOLE)]):
        module = importlib.import_module(f"progres.console.{module_info.name}")
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query ", "mutation ")):
                found.setdefault(value, f"{module_info.name}.{name}")
    return {where: text for text, where in found.items()}


def sent_names() -> set[str]:
    """The constants named as the document of an Executor call anywhere in console/ (`executor.run(PLAN_TREE, …)`)."""
    names: set[str] = set()
    for path in CONSOLE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNNERS \
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id.isupper():
                names.add(node.args[0].id)
    return names


def tabled_documents() -> list[str]:
    """The documents the console sends from a table (a setup form's, an avenant step's)."""
    return [step[1] for step in SETUP_STEPS.values()] + [step[0] for step in AVENANT_STEPS.values()]


def json_fields(graphql_schema: GraphQLSchema, document: DocumentNode) -> list[str]:
    """The fields the document reads whose type is the `JSON` scalar (untyped: what the typed contract replaces)."""
    type_info = TypeInfo(graphql_schema)
    found: list[str] = []

    class JsonFields(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            field = type_info.get_field_def()
            parent = type_info.get_parent_type()
            if field is not None and isinstance(get_named_type(field.type), GraphQLScalarType) \
                    and get_named_type(field.type).name == "JSON":
                found.append(f"{getattr(parent, 'name', '?')}.{node.name.value}")

    visit(document, TypeInfoVisitor(type_info, JsonFields()))
    return found


def mutation_shape(document: DocumentNode) -> list[str]:
    """What a mutation of the console gets wrong in the Relay style: arguments other than `input`, a payload read
    without `userErrors` or `position`, or through the deprecated `ok`, `id`, `error`."""
    problems: list[str] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.operation.value != "mutation":
            continue
        for selection in definition.selection_set.selections:
            assert isinstance(selection, FieldNode)
            arguments = [argument.name.value for argument in selection.arguments]
            if arguments != ["input"]:
                problems.append(f"{selection.name.value}: arguments {arguments}, not `input` alone")
            read = {s.name.value for s in selection.selection_set.selections if isinstance(s, FieldNode)} \
                if selection.selection_set else set()
            problems += [f"{selection.name.value}: reads no `{name}`" for name in ("userErrors", "position")
                         if name not in read]
            problems += [f"{selection.name.value}: reads the deprecated `{name}`" for name in ("ok", "id", "error")
                         if name in read]
    return problems


def contract_errors(graphql_schema: GraphQLSchema, text: str) -> list[str]:
    document = parse(text)
    errors = [error.message for error in validate(graphql_schema, document, [*specified_rules,
                                                                            NoDeprecatedCustomRule])]
    return errors + [f"JSON field {name}" for name in json_fields(graphql_schema, document)] + \
        mutation_shape(document)


def test_every_document_of_the_console_is_found():
    documents = console_documents()
    names = {where.split(".")[1] for where in documents}
    missing = sent_names() - names
    assert not missing, f"documents sent by the console but not found by this test: {sorted(missing)}"
    assert all(document in documents.values() for document in tabled_documents())
    mutations = [where for where, text in documents.items() if text.lstrip().startswith("mutation")]
    assert len(mutations) >= 26, mutations  # the 26 forms of the console that write
    assert len(documents) - len(mutations) >= 15


def test_the_console_uses_only_the_typed_contract():
    graphql_schema = live_schema()
    found = {where: errors for where, text in console_documents().items()
             if (errors := contract_errors(graphql_schema, text))}
    assert found == {}


FIRST_CONTRACT_MUTATION = """
mutation Old($plan: ID!, $indicator: String!, $start: Date!, $end: Date!, $value: Decimal, $source: String!,
             $by: ID!) {
  recordMeasure(planId: $plan, indicatorKey: $indicator, periodStart: $start, periodEnd: $end, value: $value,
                source: $source, recordedBy: $by) { ok id position error { code field message } }
}
"""
FIRST_CONTRACT_QUERY = """
query Old($plan: ID!, $member: ID!) {
  memberView(planId: $plan, memberId: $member) { position document }
  groupements { id planIds }
}
"""


def test_the_check_refuses_the_first_contracts_documents():
    """Whether the schema still has the first contract, deprecated, or has removed it: refused either way."""
    graphql_schema = live_schema()
    mutation = contract_errors(graphql_schema, FIRST_CONTRACT_MUTATION)
    assert any("Mutation.recordMeasure(planId:)' is deprecated" in m
               or "Unknown argument 'planId' on field 'Mutation.recordMeasure'" in m for m in mutation), mutation
    assert any("RecordMeasurePayload.ok is deprecated" in m
               or "Cannot query field 'ok' on type 'RecordMeasurePayload'" in m for m in mutation), mutation
    assert "recordMeasure: reads the deprecated `error`" in mutation
    assert "recordMeasure: reads no `userErrors`" in mutation
    query = contract_errors(graphql_schema, FIRST_CONTRACT_QUERY)
    assert any("Query.groupements is deprecated" in m or "Cannot query field 'groupements' on type 'Query'" in m
               for m in query), query
    assert any("Groupement.planIds" in m or "'planIds'" in m for m in query), query
    assert any("MemberView.document" in m or "'document' on type 'MemberView'" in m for m in query), query
