"""A full rebuild (issue 12, must-show 2) takes recorded measures on a fast path and writes its rows as it goes: its
measure rows, routes, history and checkpoints are those of the reducer, also when a measure is corrected after its
row was written (chunks of two events here) and in the chunk that recorded it; rows sent to PostgreSQL as COPY text
read back as they were."""

from __future__ import annotations

import uuid
from pathlib import Path

from psycopg import sql

from progres.projections import registry
from progres.projections.ledger import Replay
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sql import (
    HISTORY_COLUMNS,
    Dialect,
    delta,
    merge_checkpoints,
    schema_statements,
    unpack,
)
from progres.projections.stores.sqlite import SqliteStore
from progres.services.bootstrap import postgres_connect
from progres.services.read_models import open_store


def test_the_rows_of_a_rebuild_equal_the_reducers_with_measures_corrected_later_and_at_once(world, tmp_path: Path):
    first = world.measure()
    second = world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    world.measure(member_id=None, recorded_by=world.region, indicator_key="siqo", value=None,
                  assessment="liste de 12 références")
    world.app.correct_measure(first.id, "erreur de saisie", world.lycees[0], "2022-07-15", value="35")
    third = world.measure(member_id=world.lycees[2], recorded_by=world.lycees[2], value="50")
    world.app.correct_measure(third.id, "erreur", world.region, "2022-07-16", value="51")  # same chunk or next
    world.app.correct_measure(second.id, "erreur", world.region, "2022-07-17", value="41")
    world.app.correct_measure(first.id, "encore", world.region, "2022-07-18", value="36")

    live = SqliteStore(tmp_path / "live.sqlite3")
    runner = ProjectionRunner(world.app, live, batch_size=1, checkpoint_every=1_000_000)
    runner.catch_up()
    rebuilt = SqliteStore(tmp_path / "rebuilt.sqlite3")
    rebuild(world.app, rebuilt, "views_v1", batch=2, checkpoint_every=3)

    def rows(store: SqliteStore, projection: str, table: str) -> list[tuple[object, ...]]:
        return [row[1:] for row in store.rows(table, projection)]

    for table in ("measures", "routes", "history", "member_views", "balance_members", "plan_aggregates"):
        assert rows(rebuilt, "views_v1", table) == rows(live, runner.projection, table), table
    corrected = {row[0]: row for row in rows(rebuilt, "views_v1", "measures")}
    assert corrected[str(first.id)][-1]["value"] == "36"
    assert [c["previous_value"] for c in corrected[str(first.id)][-1]["corrections"]] == ["30", "35"]

    # Each checkpoint, merged with those before it, is the reducer's ledger at its position.
    facts = list(world.app.facts())
    checkpoints = [(row[1], row[2], unpack(row[3])) for row in rebuilt.rows("checkpoints", "views_v1")]
    assert checkpoints
    for groupement, position, _ in checkpoints:
        states = [state for g, p, state in checkpoints if g == groupement and p <= position]
        expected = Replay().feed_all(f for f in facts if f.position <= position).ledgers[groupement]
        assert merge_checkpoints(states) == merge_checkpoints([delta(expected, 0)])


def test_a_views_rows_written_in_parts_by_several_writers_are_the_runners(world, tmp_path: Path, monkeypatch):
    """A rebuild writes a view's rows VIEW_ROWS at a time (the 301 member views of 300 members in 7 writes, side by
    side): with one row a write, every view is the incremental runner's, none missing nor twice."""
    world.measure()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    live = SqliteStore(tmp_path / "live.sqlite3")
    runner = ProjectionRunner(world.app, live)
    runner.catch_up()
    monkeypatch.setattr("progres.projections.runner.VIEW_ROWS", 1)
    rebuilt = SqliteStore(tmp_path / "rebuilt.sqlite3")
    rebuild(world.app, rebuilt, "views_v1")
    tables = [table for table in registry.tables() if rebuilt.rows(table, "views_v1")]
    assert "member_views" in tables
    assert len(rebuilt.rows("member_views", "views_v1")) > 1
    for table in registry.tables():
        assert [row[1:] for row in rebuilt.rows(table, "views_v1")] == [
            row[1:] for row in live.rows(table, runner.projection)], table


def test_a_measures_route_is_its_measure_row_not_a_routes_row_for_the_runner_and_the_rebuild(world, tmp_path: Path):
    """A measure's route is read from its `measures` row: neither the runner nor the rebuild writes a routes row for
    it; `route` and `load_routes` (what a runner starts from) answer it all the same, as the reducer routes it."""
    first = world.measure()
    second = world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    world.app.correct_measure(first.id, "erreur de saisie", world.lycees[0], "2022-07-15", value="35")
    reducer = Replay().feed_all(world.app.facts())
    live = SqliteStore(tmp_path / "live.sqlite3")
    runner = ProjectionRunner(world.app, live, batch_size=2)
    runner.catch_up()
    rebuilt = SqliteStore(tmp_path / "rebuilt.sqlite3")
    rebuild(world.app, rebuilt, "views_v1", batch=3)
    measures = {str(first.id), str(second.id)}
    for store, projection in ((live, runner.projection), (rebuilt, "views_v1")):
        routed = {row[1] for row in store.rows("routes", projection)}
        assert routed  # the plan, marché, groupement… have rows; the measures none
        assert not routed & measures
        assert store.load_routes(projection) == reducer.routes
        assert store.route(projection, str(first.id)) == reducer.routes[str(first.id)]
        assert store.route(projection, str(first.id)).plan_id == world.plan
        assert store.route(projection, world.plan) == reducer.routes[world.plan]
        assert store.route(projection, "absent") is None
    # A store written before keeps its measures' routes rows: they are read as they are, the same.
    with live.transaction() as cur:
        cur.execute("INSERT INTO routes VALUES (?, ?, ?, ?)", [runner.projection, str(first.id), world.groupement,
                                                                world.plan])
    assert live.load_routes(runner.projection) == reducer.routes
    assert live.route(runner.projection, str(first.id)) == reducer.routes[str(first.id)]


def test_rows_written_as_copy_text_read_back_as_they_were_with_tabs_newlines_and_backslashes(pg_settings):
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    store = open_store(settings)
    awkward = ["a\tb", "line\nnext\r\n", "back\\slash", "\\N", "", "élève ✓", None]
    try:
        history = [(i + 1, value, None, value, f"agg-{i}", i, "Measure.Recorded", "2026-01-01T00:00:00+00:00")
                   for i, value in enumerate(awkward)]
        routes = [(f"agg-{i}", value or "g", value) for i, value in enumerate(awkward)]
        store.append_rows("v1", history, routes, [], [("g", 7, b"\x00\x01bytes\\\t")])
        store.append_views("v1", "member_views", 9, [("plan", "m\t1", "g", {"text": "tab\there\\ \n"})])
        assert [row[1:] for row in store.rows("history", "v1")] == history
        assert sorted(row[1:] for row in store.rows("routes", "v1")) == sorted(routes)
        assert [(row[1], row[2], bytes(row[3])) for row in store.rows("checkpoints", "v1")] == [
            ("g", 7, b"\x00\x01bytes\\\t")]  # bytes: psycopg adapts them (not COPY text)
        assert store.view("member_views", "v1", "plan", "m\t1") == (9, {"text": "tab\there\\ \n"})
    finally:
        store.close()
        with postgres_connect(settings, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(settings.views_schema)))


def test_a_rebuilds_rows_go_by_binary_copy_as_their_columns_types_and_its_documents_compressed_by_lz4(pg_settings):
    """A binary COPY sends each value as its column's type, read from the catalog (an INTEGER is not a BIGINT); the
    documents a rebuild stores (views, summaries) are compressed by lz4 when the server has it, pglz otherwise (the
    default: three times the server's time), and read back the same."""
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    store = open_store(settings)
    try:
        with store.transaction() as cur:
            types = store.copy_types(cur, "history", HISTORY_COLUMNS)
            assert types == [cur.execute("SELECT %s::regtype::oid", [name]).fetchone()[0] for name in (
                "text", "bigint", "text", "text", "text", "text", "integer", "text", "text")]
            lz4 = cur.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                              "WHERE name = 'default_toast_compression'").fetchone()[0]
        document = {"observations": [{"period": f"2022-{m:02d}", "value": str(m * 7)} for m in range(1, 13)] * 300}
        store.append_views("v1", "member_views", 9, [("plan", "m", "g", document)])
        store.append_rows("v1", [], [], [], [], summaries=[("g", "plan", "m", 9, document)])
        with postgres_connect(settings, autocommit=True) as connection:
            for table in ("member_views", "member_summaries"):
                assert connection.execute(sql.SQL("SELECT pg_column_compression(doc) FROM {}").format(
                    sql.Identifier(settings.views_schema, table))).fetchone()[0] == ("lz4" if lz4 else "pglz"), table
        assert store.view("member_views", "v1", "plan", "m") == (9, document)
        assert store.member_summaries("v1", "plan", ["m"], 9) == {"m": (9, store.dump_json(document))}
    finally:
        store.close()
        drop_views_schema(settings)


def assert_same_rows(store, projection: str, live, live_projection: str) -> None:
    """The measure, history and route rows of a generation equal those of the live runner's (generation aside)."""
    for table in ("measures", "history", "routes"):
        assert [row[1:] for row in store.rows(table, projection)] == [
            row[1:] for row in live.rows(table, live_projection)], table


def drop_views_schema(settings) -> None:
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.views_schema)))


def partitions(settings, table: str) -> dict[str, int]:
    """The partitions of a table of the views schema, with how many indexes each has."""
    with postgres_connect(settings, autocommit=True) as connection:
        return {row[0]: row[1] for row in connection.execute(
            "SELECT c.relname, (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) FROM pg_inherits h "
            "JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_class p ON p.oid = h.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = %s AND p.relname = %s",
            [settings.views_schema, table]).fetchall()}


def indexes(settings, table: str) -> int:
    with postgres_connect(settings, autocommit=True) as connection:
        return int(connection.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                                      [settings.views_schema, table]).fetchone()[0])


def test_a_rebuild_on_postgresql_loads_its_partitions_unindexed_then_indexes_and_attaches_them(world, tmp_path: Path,
                                                                                              pg_settings):
    """measures and history are partitioned by generation: a rebuild loads its own partitions without indexes, then
    gives them every index of their table and attaches them; their rows are the runner's; the generation it replaces
    is dropped with its partitions; a rebuild stopped midway leaves nothing the next one trips on."""
    first = world.measure()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    world.app.correct_measure(first.id, "erreur de saisie", world.lycees[0], "2022-07-15", value="35")
    live = SqliteStore(tmp_path / "live.sqlite3")
    runner = ProjectionRunner(world.app, live, batch_size=2)
    runner.catch_up()
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    store = open_store(settings)
    try:
        ProjectionRunner(world.app, store, batch_size=2).catch_up()  # views_v1, in the default partitions
        assert store.active("views") == "views_v1"
        rebuild(world.app, store, "views_v2", batch=3, checkpoint_every=2)
        assert store.active("views") == "views_v2"
        for table in ("measures", "history"):
            found = partitions(settings, table)
            assert set(found) == {f"{table}_default", store.partition(table, "views_v2")}, table  # v1's dropped
            assert found[store.partition(table, "views_v2")] == indexes(settings, table) >= 2, table
            assert store.rows(table, "views_v1") == [], table  # the generation replaced: its rows deleted
            assert [row[1:] for row in store.rows(table, "views_v2")] == [row[1:] for row in live.rows(
                table, runner.projection)], table
        # The rows go on being written there: a runner of the generation corrects a measure, reads it back.
        world.app.correct_measure(first.id, "encore", world.region, "2022-07-18", value="36")
        ProjectionRunner(world.app, store, "views_v2").catch_up()
        assert {row[1]: row[-1]["value"] for row in store.rows("measures", "views_v2")}[str(first.id)] == "36"
        # A rebuild that stopped after making its partitions: the next one starts from nothing.
        store.begin_load("views_v3")
        store.append_rows("views_v3", [(1, "g", None, None, "a", 1, "Groupement.Constituted", "t")], [], [], [])
        store.drop("views_v3")
        assert store.partition("history", "views_v3") not in partitions(settings, "history")
        rebuild(world.app, store, "views_v3", batch=4)
        runner.catch_up()
        assert_same_rows(store, "views_v3", live, runner.projection)
    finally:
        store.close()
        drop_views_schema(settings)


def test_a_loaded_partitions_primary_key_is_its_tables_and_it_is_analyzed(world, pg_settings):
    """end_load makes the primary key's index like the others (side by side with them), then the key from it: the
    partition's key is attached to its table's, on the same columns; each partition is analyzed."""
    world.measure()
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    store = open_store(settings)
    try:
        rebuild(world.app, store, "views_v1", batch=2)
        with postgres_connect(settings, autocommit=True) as connection:
            for table in ("measures", "history"):
                part = store.partition(table, "views_v1")
                key = connection.execute(
                    "SELECT pg_get_constraintdef(c.oid), p.conname, i.inhparent::regclass::text FROM pg_constraint c "
                    "JOIN pg_constraint p ON p.oid = c.conparentid JOIN pg_inherits i ON i.inhrelid = c.conindid "
                    "WHERE c.conrelid = to_regclass(%s) AND c.contype = 'p'",
                    [f'"{settings.views_schema}"."{part}"']).fetchall()
                column = "measure_id" if table == "measures" else '"position"'  # (a keyword: quoted)
                assert key == [(f"PRIMARY KEY (projection, {column})",
                                f"{table}_pkey", f"{settings.views_schema}.{table}_pkey")], table
                analyzed = connection.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = %s "
                                              "AND relname = %s", [settings.views_schema, part]).fetchone()
                assert analyzed is not None, table
                assert analyzed[0] is not None, table
    finally:
        store.close()
        drop_views_schema(settings)


def test_tables_made_before_the_partitions_stay_plain_and_a_rebuild_writes_into_them(world, tmp_path: Path,
                                                                                     pg_settings):
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    plain = Dialect(placeholder="%s", prefix=f'"{settings.views_schema}".', json_type="TEXT", blob_type="BYTEA",
                    bigint="BIGINT")
    with postgres_connect(settings, autocommit=True) as connection:  # the schema as made before this change
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(settings.views_schema)))
        for statement in schema_statements(plain):
            connection.execute(statement)
    world.measure()
    live = SqliteStore(tmp_path / "live.sqlite3")
    runner = ProjectionRunner(world.app, live)
    runner.catch_up()
    store = open_store(settings)
    try:
        rebuild(world.app, store, "views_v1", batch=2)
        assert partitions(settings, "measures") == {}
        assert partitions(settings, "history") == {}
        assert_same_rows(store, "views_v1", live, runner.projection)
    finally:
        store.close()
        drop_views_schema(settings)
