"""Mutation testing of the domain rules and the access policy (see docs/testing.md).

    python scripts/mutation.py run [--workers N]      mutmut over domain/ and services/policy.py
    python scripts/mutation.py raises [--tests ...]   each named `raise` of domain/ switched off in turn
    python scripts/mutation.py report                 the scores of the last `run`, without running again

Both work on a staged copy under .cache/mutation/, never on the working tree: the repository maps the
import root `progres` onto its own top-level folders (pyproject's package-dir), which mutation tools
cannot follow, so the copy is laid out as a plain `progres/` package beside `tests/`. The tests that
kill mutants are the fast in-memory unit tests (FAST_TESTS); slow ones are left out of the loop.

`run` exits 1 when a mutant survives on a rule check: a `raise` of a named domain error (its error,
field and message), the condition of an `if` in a function that raises one, a predicate such a rule
relies on (RULE_PREDICATES), or the access rules of `Policy`.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "mutation"
VENV_BIN = Path(sys.executable).parent
# Folders of the repository that are the `progres` package (the rest is tests, scripts, docs...).
NOT_PACKAGE = ("tests/", "bench/", "docs/", "deploy/", "scripts/", ".")
MUTATED = ("progres/domain/*", "progres/services/policy.py")
# The fast, in-memory unit tests that must kill the mutants of domain/ and policy.
FAST_TESTS = ["tests/unit/test_invariants.py", "tests/unit/test_rules.py", "tests/unit/test_policy.py",
              "tests/unit/test_services.py"]
# Left out of the mutation loop: they check the repository's layout (meaningless in the staged copy)
# or replay the whole seed scenario (a second per mutant; test_rules covers what they would kill).
DESELECTED = [
    "tests/unit/test_services.py::test_the_import_root_maps_onto_the_top_level_folders",
    "tests/unit/test_services.py::test_import_graphql_is_graphql_core",
    "tests/unit/test_services.py::test_an_aggregate_from_its_snapshot_equals_its_full_replay",
]
# Functions whose whole body decides whether a rule fires (module path, qualified name).
RULE_PREDICATES = {
    ("progres/domain/values.py", "luhn_valid"),
    ("progres/domain/values.py", "Period.within"),
    ("progres/domain/groupements.py", "Membership.active_on"),
    ("progres/domain/groupements.py", "Membership.active_during"),
    ("progres/domain/groupements.py", "Groupement.current_membership"),
    ("progres/domain/groupements.py", "Groupement.is_active"),
    ("progres/domain/groupements.py", "Groupement.is_active_during"),
    ("progres/domain/marches.py", "Marche.is_titulaire"),
    ("progres/domain/avenants.py", "above"),
    ("progres/services/policy.py", "Policy.allowed"),
    ("progres/services/policy.py", "Policy.check"),
}
KILLED, SURVIVED, NO_TESTS, TIMEOUT, OTHER = "killed", "survived", "no tests", "timeout", "other"


# Staging
def package_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.split("\n")
    return [name for name in listed if name and (REPO / name).is_file()]


def stage(name: str) -> Path:
    """A fresh copy of the working tree (committed or not) as `progres/` + `tests/` in .cache/mutation/NAME."""
    root = CACHE / name
    if root.exists():
        shutil.rmtree(root)
    for relative in package_files():
        if relative.startswith("tests/"):
            target = root / relative
        elif relative.startswith(NOT_PACKAGE) or relative in ("README.md", "pyproject.toml"):
            continue
        else:
            target = root / "progres" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, target)
    return root


def pytest_section() -> str:
    return ('[tool.pytest.ini_options]\naddopts = "--import-mode=importlib -p no:cacheprovider"\n'
            'markers = ["postgres: needs PostgreSQL", "keycloak: needs Keycloak"]\n')


def toml_list(values: list[str]) -> str:
    return json.dumps(values)  # a JSON list of plain strings is a TOML array


def write_mutmut_config(root: Path) -> None:
    deselect = [arg for test in DESELECTED for arg in ("--deselect", test)]
    (root / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["progres"]\n'
        f"only_mutate = {toml_list(list(MUTATED))}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(FAST_TESTS)}\n"
        f"pytest_add_cli_args = {toml_list(['-q', *deselect])}\n\n" + pytest_section(),
        encoding="utf-8",
    )


# Where a mutant is: the rule-check regions of the sources
def named_errors() -> set[str]:
    """Every DomainError subclass defined in domain/errors.py, and the policy's Denied."""
    tree = ast.parse((REPO / "domain" / "errors.py").read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    names |= {target.id for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)}
    return names | {"Denied"}


def raised_name(node: ast.Raise) -> str | None:
    call = node.exc
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
        return call.func.id
    return None


def is_rule_raise(node: ast.AST, errors: set[str]) -> bool:
    return isinstance(node, ast.Raise) and raised_name(node) in errors


@dataclass
class Function:
    qualname: str
    node: ast.FunctionDef
    raises: bool  # raises a named domain error itself


def functions_of(tree: ast.Module, errors: set[str]) -> dict[str, Function]:
    found: dict[str, Function] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef):
                raises = any(is_rule_raise(n, errors) for n in ast.walk(node))
                found[prefix + node.name] = Function(prefix + node.name, node, raises)

    visit(tree.body, "")
    return found


def lines_of(node: ast.AST) -> set[int]:
    return set(range(node.lineno, (node.end_lineno or node.lineno) + 1))


def rule_lines(function: Function, errors: set[str], predicate: bool) -> set[int]:
    """Lines of a function where a mutant changes whether, or how, a rule fires: its named raises and
    the conditions of its `if` statements (a predicate listed in RULE_PREDICATES: all of it)."""
    if predicate:
        return lines_of(function.node) - {function.node.lineno}
    if not function.raises:
        return set()
    lines: set[int] = set()
    for node in ast.walk(function.node):
        if is_rule_raise(node, errors):
            lines |= lines_of(node)
        elif isinstance(node, ast.If | ast.While):  # the conditions deciding whether the rule fires
            lines |= lines_of(node.test)
    return lines


# Which node a mutant changed
def first_difference(original: ast.AST, mutant: ast.AST, line: int) -> int | None:
    """The source line (in `original`'s numbering) of the first node where the mutant differs."""
    line = getattr(original, "lineno", line)
    if type(original) is not type(mutant):
        return line
    for name, value in ast.iter_fields(original):
        other = getattr(mutant, name, None)
        if isinstance(value, ast.AST):
            found = first_difference(value, other, line) if isinstance(other, ast.AST) else line
        elif isinstance(value, list):
            if not isinstance(other, list) or len(value) != len(other):
                return line
            found = next((d for a, b in zip(value, other, strict=True)
                          if (d := first_difference(a, b, line) if isinstance(a, ast.AST) else
                              (None if a == b else line)) is not None), None)
        else:
            found = None if value == other else line
        if found is not None:
            return found
    return None


@dataclass
class Mutant:
    name: str
    path: str  # progres/domain/x.py
    function: str  # qualified name in the source
    status: str
    line: int | None = None
    rule: bool = False
    diff: str = ""


@dataclass
class Results:
    mutants: list[Mutant] = field(default_factory=list)

    def counts(self, rule_only: bool = False) -> Counter[str]:
        return Counter(m.status for m in self.mutants if m.rule or not rule_only)


STATUS_BY_EXIT_CODE = {1: KILLED, 3: KILLED, 0: SURVIVED, 5: NO_TESTS, 33: NO_TESTS, 36: TIMEOUT, 24: TIMEOUT,
                       -24: TIMEOUT, 152: TIMEOUT, 255: TIMEOUT}


def mutant_source_name(mangled: str) -> str:
    """`xǁGroupementǁadmit__mutmut_3` → `Groupement.admit`; `x_above__mutmut_1` → `above`."""
    base = mangled.rsplit("__mutmut_", 1)[0]
    if base.startswith("xǁ"):
        _, cls, name = base.split("ǁ")
        return f"{cls}.{name}"
    return base.removeprefix("x_")


def collect(root: Path) -> Results:
    errors = named_errors()
    results = Results()
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        path = str(meta.relative_to(root / "mutants")).removesuffix(".meta")
        source_tree = ast.parse((root / path).read_text(encoding="utf-8"))
        mutant_tree = ast.parse((root / "mutants" / path).read_text(encoding="utf-8"))
        generated = {n.name: n for n in ast.walk(mutant_tree) if isinstance(n, ast.FunctionDef)}
        functions = functions_of(source_tree, errors)
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for key, code in sorted(exit_codes.items()):
            mangled = key.rsplit(".", 1)[1]
            qualname = mutant_source_name(mangled)
            mutant = Mutant(key, path, qualname, STATUS_BY_EXIT_CODE.get(code, OTHER))
            source = functions.get(qualname)
            original = generated.get(mangled.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
            changed = generated.get(mangled)
            if source and original and changed:
                offset = source.node.lineno - original.lineno
                line = first_difference(ast.Module([*original.body, original.args], []),  # not the name
                                        ast.Module([*changed.body, changed.args], []), original.lineno)
                if line is not None:
                    mutant.line = line + offset
                    predicate = (path, qualname) in RULE_PREDICATES
                    mutant.rule = mutant.line in rule_lines(source, errors, predicate)
                    mutant.diff = (root / path).read_text(encoding="utf-8").split("\n")[mutant.line - 1].strip()
            results.mutants.append(mutant)
    return results


def score(counts: Counter[str]) -> str:
    total = sum(counts.values())
    killed = counts[KILLED] + counts[TIMEOUT]
    return f"{killed}/{total} killed ({100 * killed / total:.1f} %)" if total else "no mutants"


def report(root: Path, seconds: float | None = None, only: list[str] | None = None) -> int:
    results = collect(root)
    if only:  # a partial run: the mutants it was asked to try
        results.mutants = [m for m in results.mutants if any(fnmatch.fnmatch(m.name, p) for p in only)]
    overall, rules = results.counts(), results.counts(rule_only=True)
    survivors = [m for m in results.mutants if m.status not in (KILLED, TIMEOUT)]
    rule_survivors = [m for m in survivors if m.rule]
    lines = [f"mutants: {sum(overall.values())} ({', '.join(f'{k} {v}' for k, v in sorted(overall.items()))})",
             f"mutation score, overall: {score(overall)}",
             f"mutation score, rule checks: {score(rules)}"]
    if seconds is not None:
        lines.append(f"mutmut run took {seconds:.0f} s")
    lines.append(f"surviving mutants: {len(survivors)}, on rule checks: {len(rule_survivors)}")
    for mutant in sorted(survivors, key=lambda m: (not m.rule, m.path, m.line or 0)):
        where = f"{mutant.path.removeprefix('progres/')}:{mutant.line}" if mutant.line else mutant.path
        kind = "RULE " if mutant.rule else ""
        lines.append(f"  {kind}{mutant.status:9} {where:32} {mutant.function:36} {mutant.name.rsplit('__', 1)[1]}"
                     f"   | {mutant.diff[:80]}")
    text = "\n".join(lines)
    print(text)
    (CACHE / "last-report.txt").write_text(text + "\n", encoding="utf-8")
    print(f"(written to {CACHE.relative_to(REPO) / 'last-report.txt'}; `mutmut show NAME` in {root.relative_to(REPO)} "
          "shows a mutant)")
    if any(m.status == OTHER for m in results.mutants):
        print("some mutants were not tried (an interrupted run?): the scores above count them as not killed")
    return 1 if rule_survivors else 0


def run(workers: int, only: list[str], name: str = "stage") -> int:
    root = stage(name)
    write_mutmut_config(root)
    start = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([str(VENV_BIN / "mutmut"), "run", "--max-children", str(workers), *only], cwd=root,
                          env=env, check=False, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        print(f"mutmut failed (exit {done.returncode}); run it in {root} to see why", file=sys.stderr)
        return 2
    return report(root, seconds, only)


# The coarse check of issue 11: each named `raise` switched off in turn
def rule_raises(root: Path) -> list[tuple[Path, ast.Raise]]:
    errors = named_errors()
    found = []
    for path in sorted((root / "progres" / "domain").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [(path, node) for node in ast.walk(tree) if is_rule_raise(node, errors)]
    return sorted(found, key=lambda item: (item[0], item[1].lineno))


def without(source: str, node: ast.Raise) -> str:
    """The source with the raise statement replaced by `pass` (line numbers kept)."""
    lines = source.split("\n")
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    lines[first] = lines[first][: node.col_offset] + "pass" + lines[last][node.end_col_offset or 0:]
    for index in range(first + 1, last + 1):
        lines[index] = ""
    return "\n".join(lines)


def raises(tests: list[str], name: str = "raises") -> int:
    root = stage(name)
    (root / "pyproject.toml").write_text(pytest_section(), encoding="utf-8")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "--no-header", "-p", "no:randomly", *tests,
               *[arg for test in DESELECTED for arg in ("--deselect", test)]]
    baseline = subprocess.run(command, cwd=root, env=env, check=False, capture_output=True, text=True)
    if baseline.returncode != 0:
        print(baseline.stdout[-3000:], baseline.stderr[-3000:], "the tests fail without any change", sep="\n")
        return 2
    unguarded = []
    found = rule_raises(root)
    for path, node in found:
        original = path.read_text(encoding="utf-8")
        path.write_text(without(original, node), encoding="utf-8")
        try:
            outcome = subprocess.run(command, cwd=root, env=env, check=False, capture_output=True, text=True)
        finally:
            path.write_text(original, encoding="utf-8")
        where = f"{path.relative_to(root / 'progres')}:{node.lineno} {raised_name(node)}"
        guarded = outcome.returncode != 0
        print(f"{'guarded  ' if guarded else 'UNGUARDED'} {where}", flush=True)
        if not guarded:
            unguarded.append(where)
    print(f"{len(unguarded)} of {len(found)} domain rules can be switched off with every test still passing "
          f"(tests: {' '.join(tests)})")
    return 1 if unguarded else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="mutmut over domain/ and services/policy.py")
    run_parser.add_argument("--workers", type=int, default=2)
    run_parser.add_argument("--only", nargs="+", default=[], metavar="GLOB",
                            help="mutant names to try (e.g. 'progres.services.policy.*'), in .cache/mutation/only")
    commands.add_parser("report", help="scores and survivors of the last run")
    raises_parser = commands.add_parser("raises", help="switch each named domain raise off in turn")
    raises_parser.add_argument("--tests", nargs="+", default=[t for t in FAST_TESTS if (REPO / t).exists()])
    raises_parser.add_argument("--stage", default="raises", help="folder under .cache/mutation (runs side by side)")
    args = parser.parse_args()
    if args.command == "run":
        return run(args.workers, args.only, "only" if args.only else "stage")
    if args.command == "report":
        return report(CACHE / "stage")
    return raises(args.tests, args.stage)


if __name__ == "__main__":
    sys.exit(main())
