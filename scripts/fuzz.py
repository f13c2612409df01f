"""Fuzzes every GraphQL operation of a real `progres serve` on PostgreSQL with schemathesis (scripts/fuzz).

The server runs in local identity mode with two groupements, each coordinated by a different organisation;
each generated request goes with the token of one of the two coordonnateurs, or none. Generated `ID`s are
drawn from the ids that exist (both groupements' organisations, groupements, marchés and plans) as well as
arbitrary strings, so cross-tenant references are tried too. Checks, per request:
- no response has a 5xx status;
- no answer carries a masked internal error (`extensions.code == "internal"`);
- the log head moves only when the answer is an accepted mutation (`ok: true`).
Bounded: `--max-examples` per operation and `--time-budget` overall. Prints a summary (a JSON line), and exits
non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from graphql import Visitor, parse, print_ast, visit
from graphql.language import (
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg import sql
from schemathesis.graphql import nodes

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import document
from progres.services.identity import LocalIssuer
from progres.services.serving import served
from progres.services.settings import Settings


class OutOfTime(Exception):
    pass


def seed(app: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Two groupements with a marché and a plan each, coordinated by different organisations."""
    ids: list[str] = []
    actors = []
    for n, (buyer, supplier) in enumerate((("2000537670001", "4190012340001"), ("1962001230001", "3300012340001"))):
        coordonnateur = app.register_organisation(siret=siret_with_key(buyer), name=f"Collectivité {n}",
                                                  kind="collectivite").id
        titulaire = app.register_organisation(siret=siret_with_key(supplier), name=f"Fournisseur {n}",
                                              kind="supplier").id
        groupement = app.constitute_groupement(code=f"GC-{n}", name=f"G{n}", purpose="Achats", permanent=True,
                                               coordonnateur_id=coordonnateur, signed_on="2021-06-01",
                                               convention=document(f"convention-{n}.pdf")).id
        marche = app.notify_marche(groupement_id=groupement, code=f"M-{n}", object="BOF", cpv="15500000-3",
                                   nature="fournitures", titulaire_ids=[titulaire], initial_amount="1000",
                                   duration_months=24, notified_on="2022-01-01").id
        plan = app.draw_up_plan(marche_id=marche, title=f"Plan {n}").id
        app.add_axis(plan_id=plan, key="egalim", title="EGalim")
        ids += [str(i) for i in (coordonnateur, titulaire, groupement, marche, plan)]
        actors.append((siret_with_key(buyer), "coordonnateur"))
    return ids, actors


class _AskOk(Visitor):
    """Adds `ok` to the selection of each root field of a mutation (AST nodes are immutable: replaced)."""

    def leave_field(self, node: FieldNode, _key: Any, _parent: Any, path: Any, ancestors: Any) -> Any:
        root = len(path) == 5 and isinstance(ancestors[2], OperationDefinitionNode) \
            and ancestors[2].operation is OperationType.MUTATION
        if not root or node.selection_set is None or any(
                isinstance(f, FieldNode) and f.name.value == "ok" for f in node.selection_set.selections):
            return None
        ok = FieldNode(name=NameNode(value="ok"), arguments=(), directives=())
        return replace(node, selection_set=SelectionSetNode(selections=(*node.selection_set.selections, ok)))


def asking_ok(query: str) -> str:
    """The generated mutation, its result also asking `ok`: whether a command was accepted must be known."""
    return print_ast(visit(parse(query), _AskOk()))


def answer_of(response: Any) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def accepted_mutation(answer: dict[str, Any]) -> bool:
    data = answer.get("data") or {}
    return any(isinstance(v, dict) and v.get("ok") is True for v in data.values())


def main() -> int:  # noqa: PLR0915 - one linear story: set up, fuzz, report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=12, help="generated requests per operation")
    parser.add_argument("--time-budget", type=float, default=180.0, help="seconds of fuzzing at most, overall")
    options = parser.parse_args()

    suffix = uuid.uuid4().hex[:10]
    data_dir = Path(tempfile.mkdtemp(prefix="progres-fuzz-"))
    store = Settings(store="postgres", postgres_schema=f"fuzz_{suffix}", views_schema=f"fuzz_views_{suffix}",
                     data_dir=data_dir)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": store.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": store.views_schema, "PROGRES_ENVIRONMENT": "development",
           "PROGRES_DATA_DIR": str(data_dir)}
    app = bootstrap(store)
    ids, actors = seed(app)
    issuer = LocalIssuer(data_dir)
    headers = [{"authorization": f"Bearer {issuer.mint(siret, [role], store.oidc_audience)}",
                "x-progres-organisation": siret} for siret, role in actors] + [{}]
    schemathesis.graphql.scalar("ID", st.one_of(st.sampled_from(ids), st.text(max_size=40)).map(nodes.String))
    # Decimal (graphql/scalars.py): exact decimals as strings, numbers, and strings that are not numbers.
    schemathesis.graphql.scalar("Decimal", st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(lambda d: nodes.String(str(d))),
        st.integers(min_value=-10**12, max_value=10**12).map(nodes.Int),
        st.text(max_size=20).map(nodes.String)))

    counts: Counter[str] = Counter()
    codes_seen: Counter[str] = Counter()  # error codes answered (None: no error)
    failures: list[dict[str, Any]] = []
    started = time.monotonic()
    log = (data_dir / "server.log").open("w")
    try:
        with served(env, log=log) as url:
            schema = schemathesis.graphql.from_url(f"{url}/graphql")
            operations = [result.ok() for result in schema.get_all_operations()]
            client = httpx.Client(timeout=30)

            def check(operation: Any, case: Any, who: int) -> None:
                if time.monotonic() - started > options.time_budget:
                    raise OutOfTime
                before = app.max_notification_id() or 0
                sent = case.as_transport_kwargs(base_url=url, headers=headers[who])
                if operation.label.startswith("Mutation.") and isinstance(sent.get("json"), dict):
                    sent["json"]["query"] = asking_ok(sent["json"]["query"])
                response = client.request(sent["method"], sent["url"], json=sent.get("json"),
                                          headers=sent.get("headers"))
                after = app.max_notification_id() or 0
                answer = answer_of(response)
                counts["requests"] += 1
                codes = [(e.get("extensions") or {}).get("code") for e in answer.get("errors") or []]
                problem = None
                if response.status_code >= 500:
                    problem = f"HTTP {response.status_code}"
                elif "internal" in codes:
                    problem = "masked internal error"
                elif after != before and not accepted_mutation(answer):
                    problem = f"log head moved {before}→{after} on a request that was not an accepted mutation"
                counts["accepted_mutations"] += accepted_mutation(answer)
                counts["log_moves"] += after != before
                counts[f"status_{response.status_code}"] += 1
                for code in codes or [None]:
                    codes_seen[str(code)] += 1
                if problem:
                    failures.append({"operation": operation.label, "problem": problem,
                                     "request": sent.get("json"), "answer": response.text[:400]})

            # Controls: the checks can see a write. A coordonnateur's command on its own plan is accepted and
            # moves the head; the other groupement's coordonnateur sending it moves nothing.
            control = f'mutation {{ addAxis(planId: "{ids[4]}", key: "controle", title: "Contrôle") {{ ok }} }}'
            for who, expected in ((1, False), (0, True)):
                before = app.max_notification_id() or 0
                answer = answer_of(client.post(f"{url}/graphql", json={"query": control}, headers=headers[who]))
                moved = (app.max_notification_id() or 0) != before
                if accepted_mutation(answer) != expected or moved != expected:
                    failures.append({"operation": "control", "problem": f"expected accepted={expected}, "
                                     f"moved={expected}", "answer": json.dumps(answer)[:400]})
                counts["controls"] += 1

            def fuzzer(operation: Any) -> Any:
                @settings(max_examples=options.max_examples, deadline=None, database=None,
                          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(), who=st.integers(0, len(headers) - 1))
                def fuzz(case: Any, who: int) -> None:
                    check(operation, case, who)

                return fuzz

            for operation in operations:
                try:
                    fuzzer(operation)()
                except OutOfTime:
                    counts["stopped_by_time_budget"] = 1
                    break
                counts["operations"] += 1
    finally:
        log.close()
        app.close()
        with postgres_connect(store, autocommit=True) as connection:
            for name in (store.postgres_schema, store.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))

    summary = {"fuzz": "graphql", "operations_total": len(operations), **counts, "failures": len(failures),
               "codes": dict(codes_seen.most_common(12)), "seconds": round(time.monotonic() - started, 1)}
    for failure in failures[:20]:
        print(json.dumps(failure, ensure_ascii=False), file=sys.stderr)
    if failures:
        print(f"server log: {data_dir / 'server.log'}", file=sys.stderr)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(summary))
    return 1 if failures or counts["requests"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
