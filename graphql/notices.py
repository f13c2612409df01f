"""What a read says beside its data: a notice (nothing recorded yet at that moment, a business date before the
plan's start) goes in the answer's `extensions.notices`, each with its code, field and French message
(services/time_axes.py). The resolvers add them to the request's context (graphql/queries.py `noted`)."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class Notices(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        notices = getattr(self.execution_context.context, "notices", None)
        return {"notices": notices} if notices else {}
