"""Relay connections: `first`/`after` forwards, `last`/`before` backwards, a full `PageInfo` and the count of the
whole list, with the page arguments checked the same way everywhere (docs/graphql.md, "Pagination")."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from progres.domain.errors import InvalidInput

T = TypeVar("T")

PAGE_LIMIT = 500  # the longest page of a list held in memory (a document, a ledger)
DEFAULT_PAGE = 100  # the page when neither `first` nor `last` is given
# The deprecation reason of a plain list that a connection (field named in braces) replaces.
LIST_DEPRECATED = "Remplacé par `{}`, une connexion paginée ; retiré dans une version ultérieure (docs/graphql.md)."


class ConflictingPageArguments(InvalidInput):
    """`first` and `last` asked together: the page would be ambiguous (the Relay specification advises against)."""

    code = "conflicting_page_arguments"


@strawberry.type(description="État de la pagination d'une liste paginée : y a-t-il des éléments avant et après la "
                             "page, et les curseurs de ses bords.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Vrai si d'autres éléments suivent la page.")
    has_previous_page: bool = strawberry.field(
        default=False, description="Vrai si d'autres éléments précèdent la page.")
    start_cursor: str | None = strawberry.field(
        default=None, description="Curseur du premier élément de la page, à passer en `before` pour la page "
                                  "précédente ; null pour une page vide.")
    end_cursor: str | None = strawberry.field(
        default=None, description="Curseur du dernier élément de la page, à passer en `after` pour la page "
                                  "suivante ; null pour une page vide.")


@strawberry.type(description="Un élément d'une liste paginée, avec son curseur.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Curseur de cet élément, à passer en `after` (ou `before`).")
    node: T = strawberry.field(description="L'élément.")


@strawberry.type(description="Une page d'une liste qui peut grandir (connexion Relay à curseurs).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Les éléments de la page.")
    page_info: PageInfo = strawberry.field(description="État de la pagination.")
    total: strawberry.Private[int | Callable[[], Awaitable[int]]]

    @strawberry.field(description="Nombre d'éléments de toute la liste (toutes pages confondues, avec les filtres "
                                  "demandés), pas seulement de cette page.")
    async def total_count(self) -> int:
        return self.total if isinstance(self.total, int) else await self.total()


First = Annotated[int | None, strawberry.argument(
    description=f"Nombre d'éléments voulus depuis le début de la liste (ou depuis `after`), de 1 à {PAGE_LIMIT} ; "
                f"ni `first` ni `last` : les {DEFAULT_PAGE} premiers. Jamais avec `last`.")]
After = Annotated[str | None, strawberry.argument(
    description="Curseur (`endCursor` de la page précédente) après lequel la page commence ; absent : depuis le "
                "début.")]
Last = Annotated[int | None, strawberry.argument(
    description=f"Nombre d'éléments voulus depuis la fin de la liste (ou avant `before`), de 1 à {PAGE_LIMIT}. "
                "Jamais avec `first`.")]
Before = Annotated[str | None, strawberry.argument(
    description="Curseur (`startCursor` de la page suivante) avant lequel la page s'arrête ; absent : jusqu'à la "
                "fin.")]


@dataclass(frozen=True)
class PageRequest:
    """The four page arguments, checked: at most one of `first`/`last`, each from 1 to the limit."""

    first: int | None
    after: str | None
    last: int | None
    before: str | None

    @classmethod
    def of(cls, first: int | None, after: str | None, last: int | None, before: str | None,
           limit: int = PAGE_LIMIT, default: int = DEFAULT_PAGE, what: str = "éléments") -> PageRequest:
        if first is not None and last is not None:
            raise ConflictingPageArguments("last", rule="demandez `first` (depuis le début) ou `last` (depuis la "
                                                        "fin), pas les deux")
        for name, size in (("first", first), ("last", last)):
            if size is not None and not 0 < size <= limit:
                raise InvalidInput(name, rule=f"demandez de 1 à {limit} {what}")
        if first is None and last is None:
            first = default
        return cls(first, after, last, before)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str, field: str = "after") -> int:
    """The offset of the element a cursor of a list in memory points at."""
    try:
        kind, offset = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        if kind != "o" or not offset.isdigit():
            raise ValueError(cursor)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidInput(field, rule="ce n'est pas un curseur de cette liste") from None


def paginate(items: Sequence[Any], first: int | None = None, after: str | None = None, last: int | None = None,
             before: str | None = None, *, default: int = DEFAULT_PAGE,
             build: Callable[[Any], Any] | None = None) -> Connection[Any]:
    """A page of a list held in memory (Relay's algorithm: `after`/`before` cut the list, then `first` keeps its
    head or `last` its tail); only the page's items are built by `build` when it is given."""
    asked = PageRequest.of(first, after, last, before, default=default)
    start, end = 0, len(items)
    if asked.after:
        start = max(start, decode_cursor(asked.after, "after") + 1)
    if asked.before:
        end = min(end, decode_cursor(asked.before, "before"))
    if asked.first is not None:
        end = min(end, start + asked.first)
    if asked.last is not None:
        start = max(start, end - asked.last)
    end = max(start, end)
    edges = [Edge(cursor=encode_cursor(offset), node=build(items[offset]) if build else items[offset])
             for offset in range(start, end)]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=end < len(items), has_previous_page=start > 0 and len(items) > 0,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None),
        total=len(items))


def positioned_page(rows: list[Any], asked: PageRequest, build: Callable[[Any], Any],
                    total: int | Callable[[], Awaitable[int]], more_before: bool, more_after: bool) -> Connection[Any]:
    """A page of a list read from the log in position order (events, replay steps), whose cursors are positions:
    `rows` holds the page and one more element on the side it was read from (ascending for `first`, descending
    for `last`)."""
    size = asked.last if asked.last is not None else asked.first
    assert size is not None
    extra = len(rows) > size
    page = rows[:size]
    if asked.last is not None:
        page.reverse()
    edges = [Edge(cursor=str(row["position"]), node=build(row)) for row in page]
    has_next = more_after or (extra and asked.last is None)
    has_previous = more_before or (extra and asked.last is not None)
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=has_next, has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None),
        total=total)


def position_cursor(cursor: str | None, field: str = "after") -> int | None:
    """A cursor of a list read from the log: the position of its element."""
    if not cursor:
        return None
    try:
        position = int(cursor)
    except ValueError:
        raise InvalidInput(field, rule="un curseur d'événements est une position du journal") from None
    if position < 0:
        raise InvalidInput(field, rule="un curseur d'événements est une position du journal")
    return position
