"""Strawberry permission classes; the rules themselves live in services/policy.py."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info


class IsAuthenticated(BasePermission):
    message = "unauthenticated: say who acts (organisation and role)"
    error_extensions = {"code": "unauthenticated"}  # noqa: RUF012 - strawberry's API

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.actor is not None
