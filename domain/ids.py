"""Deterministic identifiers: the same natural key always gives the same aggregate id (uuid5)."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("5b0f6a51-2f57-4c1e-9d7b-7a1f0c0e9a11")


def derive_id(kind: str, *parts: object) -> UUID:
    return uuid5(NAMESPACE, "/".join([kind, *(str(p) for p in parts)]))
