"""The GraphQL contract does not break its clients silently.

The SDL of the code is compared with the SDL of the previous release (`graphql/releases/<version>.graphql`)
by graphql-core's `find_breaking_changes`: every breaking change must be listed, word for word as graphql-core
describes it, in the "Unreleased" section of CHANGELOG.md (under "Changements incompatibles de l'API GraphQL"),
with what clients should do. Field deprecation comes before removal (docs/graphql.md, "Évolution du contrat").
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes
from packaging.version import Version

from progres.graphql.schema import schema

REPO = Path(__file__).resolve().parents[2]
RELEASES = REPO / "graphql" / "releases"


def current_version() -> Version:
    return Version(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


def previous_release() -> Path:
    """The SDL of the newest release older than the version being built."""
    releases = sorted((Version(p.stem), p) for p in RELEASES.glob("*.graphql"))
    older = [path for version, path in releases if version < current_version()]
    assert older, f"no SDL of a release older than {current_version()} in {RELEASES}"
    return older[-1]


def unreleased_section() -> str:
    text = (REPO / "CHANGELOG.md").read_text()
    found = re.search(r"^## Unreleased\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert found, "CHANGELOG.md has no '## Unreleased' section"
    return found.group(1)


def listed_breaking_changes() -> set[str]:
    section = unreleased_section()
    found = re.search(r"^### Changements incompatibles de l'API GraphQL\n(.*?)(?=^##|\Z)", section, flags=re.M | re.S)
    if not found:
        return set()
    return {m.group(1) for m in re.finditer(r"^- `([^`]+)`", found.group(1), flags=re.M)}


def changes() -> tuple[list[str], list[str]]:
    old = build_schema(previous_release().read_text())
    new = schema._schema
    return ([c.description for c in find_breaking_changes(old, new)],
            [c.description for c in find_dangerous_changes(old, new)])


def test_every_breaking_change_since_the_previous_release_is_listed_in_the_changelog():
    breaking, _ = changes()
    unlisted = [description for description in breaking if description not in listed_breaking_changes()]
    assert not unlisted, (
        f"{len(unlisted)} breaking change(s) of the GraphQL API since {previous_release().name} are not listed "
        "in CHANGELOG.md (## Unreleased / ### Changements incompatibles de l'API GraphQL), e.g.:\n"
        + "\n".join(f"- `{d}`" for d in unlisted[:20]))


def test_the_changelog_lists_no_breaking_change_that_did_not_happen():
    """A stale line would later excuse a real break of the same wording."""
    breaking, _ = changes()
    stale = listed_breaking_changes() - set(breaking)
    assert not stale, f"CHANGELOG.md lists breaking changes that the SDL does not show: {sorted(stale)[:10]}"


def test_the_check_sees_a_removed_field_and_a_new_required_argument():
    """The check can fail: a field removed and a required argument added are both found."""
    old = build_schema("type Query { plan(id: ID!): String, old: Int }")
    new = build_schema("type Query { plan(id: ID!, at: String!): String }")
    found = {c.description for c in find_breaking_changes(old, new)}
    assert {"Field Query.old was removed.", "A required argument Query.plan(at:) was added."} <= found, found


def test_the_previous_release_is_older_than_the_version_being_built():
    assert Version(previous_release().stem) < current_version()
