"""GraphiQL in development, entirely from the package's own files (graphql/static/graphiql): no CDN, so it
works offline and on a network that blocks third-party scripts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "graphiql"
ASSETS_PATH = "/static/graphiql"


@cache
def graphiql_html() -> str:
    return (ASSETS / "index.html").read_text(encoding="utf-8")


def mount_graphiql(api: FastAPI) -> None:
    """Serves the explorer's scripts and styles at /static/graphiql (the page itself is GET /graphql)."""
    api.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="graphiql")


class OfflineGraphiQL:
    """Mixin for the GraphQL router: the IDE page strawberry serves is ours, not its CDN-loading one."""

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_html()
