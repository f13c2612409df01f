"""The ledger's handlers are registered by the domain's event classes (projections/ledger.py). Every event an
aggregate of domain/ declares (`@event("Name")`) is folded by one handler or listed as ignored by the read
side, with where it is read instead; no handler names a class that is not one of those events.

A renamed event fails the import of projections/ledger.py (its table names the class: AttributeError); an
event added to the domain and forgotten by the read side fails here."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

from eventsourcing.utils import get_topic, resolve_topic

from progres.domain.organisations import Organisation
from progres.domain.values import siret_with_key
from progres.projections import ledger
from progres.projections.facts import fact_from_event

DOMAIN = Path(ledger.__file__).resolve().parent.parent / "domain"


def declared_events() -> dict[str, type[Any]]:
    """`Aggregate.Name` → class, for every `@event("Name")` of a class body in domain/ (read from the source,
    so an event class the library would make is not missed for want of a naming convention)."""
    events: dict[str, type[Any]] = {}
    for path in sorted(DOMAIN.glob("[!_]*.py")):
        module = importlib.import_module(f"progres.domain.{path.stem}")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                for decorator in getattr(item, "decorator_list", []):
                    if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name)
                            and decorator.func.id == "event" and decorator.args
                            and isinstance(decorator.args[0], ast.Constant)):
                        name = str(decorator.args[0].value)
                        events[f"{node.name}.{name}"] = getattr(getattr(module, node.name), name)
    return events


def test_the_domain_declares_events_and_each_is_a_class_named_as_its_stored_topic_ends() -> None:
    events = declared_events()
    assert len(events) >= 40  # the aggregates of domain/ as of issue 12
    for qualified, cls in events.items():
        assert ledger.kind_of(cls) == qualified
        assert resolve_topic(get_topic(cls)) is cls
        assert get_topic(cls).rpartition(":")[2] == qualified  # what facts.fact_from_record reads as the kind


def test_every_domain_event_has_a_handler_or_is_ignored_by_the_read_side_with_a_reason() -> None:
    handled = set(ledger.GROUPEMENT_EVENTS) | set(ledger.PLAN_ROUTED_EVENTS)
    ignored = set(ledger.IGNORED_EVENTS)
    assert not handled & ignored, "an event both handled and ignored"
    assert not set(ledger.GROUPEMENT_EVENTS) & set(ledger.PLAN_ROUTED_EVENTS)
    forgotten = sorted(q for q, cls in declared_events().items() if cls not in handled | ignored)
    assert forgotten == [], f"domain events no read-side handler folds nor lists as ignored: {forgotten}"
    assert all(reason.strip() for reason in ledger.IGNORED_EVENTS.values())


def test_no_handler_names_an_event_the_domain_no_longer_declares() -> None:
    declared = set(declared_events().values())
    stale = sorted(ledger.kind_of(cls) for cls in
                   {*ledger.GROUPEMENT_EVENTS, *ledger.PLAN_ROUTED_EVENTS, *ledger.IGNORED_EVENTS} - declared)
    assert stale == [], f"handlers of events the domain no longer declares: {stale}"


def test_the_handlers_are_found_at_run_time_by_the_stored_kind() -> None:
    """The lookup of `apply` stays by the stored topic's end: the same key for every handler class."""
    assert set(ledger.GROUPEMENT_HANDLERS) == {ledger.kind_of(c) for c in ledger.GROUPEMENT_EVENTS}
    assert set(ledger.PLAN_ROUTED_HANDLERS) == {ledger.kind_of(c) for c in ledger.PLAN_ROUTED_EVENTS}
    assert ledger.GROUPEMENT_HANDLERS["Marche.Notified"] is ledger.GROUPEMENT_EVENTS[
        declared_events()["Marche.Notified"]]


def test_a_fact_of_a_real_domain_event_is_folded_by_its_handler() -> None:
    organisation = Organisation.register(siret_with_key("1234567890123"), "Lycée", "eple")
    event = organisation.collect_events()[0]
    fact = fact_from_event(1, event)
    replay = ledger.Replay().feed_all([fact])
    assert replay.ledgers[ledger.DIRECTORY]["organisations"][str(organisation.id)]["name"] == "Lycée"
