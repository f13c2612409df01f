"""Package discovery for the one import root `progres`, mapped onto the top-level folders.

`progres.domain` is `domain/`, `progres.services` is `services/` and so on (DESIGN.md section 2).
setuptools' find-based discovery in pyproject.toml cannot prefix what it finds with `progres.`, so the
discovery lives here: every folder below the package roots is found (namespace discovery, since
`graphql/` has on purpose no `__init__.py`: it must never shadow graphql-core), so a new subpackage
cannot be forgotten. tests/, bench/, deploy/, docs/ and scripts/ are not package roots and are not shipped.
tests/packaging/test_wheel.py compares the built wheel with the source tree.
"""

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

# The folders that are `progres` subpackages; everything below them is found.
PACKAGE_ROOTS = ("domain", "services", "projections", "graphql", "console")


def progres_packages() -> list[str]:
    found = find_namespace_packages(where=".", include=[f"{root}{tail}" for root in PACKAGE_ROOTS
                                                        for tail in ("", ".*")],
                                    exclude=["*.__pycache__", "*.__pycache__.*"])
    return ["progres", *(f"progres.{name}" for name in sorted(found))]


class BuildPy(build_py):
    """The root package is the project folder: its modules are `__init__.py` only, not this script."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if package != "progres" or m[1] == "__init__"]


setup(
    cmdclass={"build_py": BuildPy},
    packages=progres_packages(),
    package_dir={"progres": "."},
    # Every file in a package folder ships (templates, static assets, the SDL), except in the root
    # folder, which also holds the project's own files (README, pyproject.toml, this script).
    package_data={"": ["*"]},
    exclude_package_data={"progres": ["*"]},
)
