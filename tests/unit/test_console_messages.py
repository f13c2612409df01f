"""Every event type of the domain has its French name on the auditors' timeline (console/messages.py): a new
event without one fails here, not on an auditor's screen."""

from __future__ import annotations

import importlib

from eventsourcing.domain import Aggregate, CanMutateAggregate

from progres.console.messages import EVENT_NAMES

BASES = ("Event", "Created")  # the library's base classes, never recorded under these names here
MODULES = ("groupements", "marches", "measures", "organisations", "plans", "proposals", "purchases", "reviews")


def domain_event_types() -> set[str]:
    found = set()
    for name in MODULES:
        module = importlib.import_module(f"progres.domain.{name}")
        for aggregate in vars(module).values():
            if (isinstance(aggregate, type) and issubclass(aggregate, Aggregate)
                    and aggregate.__module__ == module.__name__):
                found |= {f"{aggregate.__name__}.{event.__name__}" for event in vars(aggregate).values()
                          if isinstance(event, type) and issubclass(event, CanMutateAggregate)
                          and event.__name__ not in BASES}
    return found


def test_every_domain_event_has_a_french_name_and_no_name_is_left_over():
    types = domain_event_types()
    assert "ProgressPlan.ActionPlanned" in types
    assert len(types) >= 39
    assert types == set(EVENT_NAMES)
