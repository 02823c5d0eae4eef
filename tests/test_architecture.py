"""The boundaries of the house, read from the code with `ast`.

1. Only `pipelines/defs/` and `pipelines/definitions.py` import dagster, and `defs/` only wires
   things together: no SQL and no engine of its own (DuckDB, pandera, rules files).
2. Wings import downward only: reference and privacy; ingest and warehouse; publication;
   reports, operations and demo; cli and defs. `paths` and `feedback` are below them all.
3. `ingest` and `warehouse` never import each other: they meet in the staging Parquet and
   `models/staging/*.sql`.
4. Only `demo/` and `cli.py` import `pipelines.demo`.
5. `reports/` reads aggregated tables only: no pupil-level relation, no ingest module.
6. The per-kind facts of the input contract are defined only in `ingest/contract.py`.

Each rule is a function over a package folder that returns its violations, so that each test
can plant a violation in a copy of the package and see the rule catch it.
"""

import ast
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from pipelines.ingest.contract import KINDS
from pipelines.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "pipelines"
MODELS = PROJECT_ROOT / "models"
RANK = {
    "paths": 0, "feedback": 0,
    "reference": 1, "privacy": 1,
    "ingest": 2, "warehouse": 2,
    "publication": 3,
    "reports": 4, "operations": 4, "demo": 4,
    "cli": 5, "defs": 5, "definitions": 5,
}  # fmt: skip
DAGSTER_HOMES = {"defs", "definitions"}
# What the definitions may not do themselves: run SQL, validate, or read rules files.
WIRING_FORBIDDEN_IMPORTS = {
    "duckdb",
    "sqlglot",
    "pandera",
    "tomllib",
    "scipy",
    "great_expectations",
}
SQL_TEXT = re.compile(
    r"^\s*(SELECT|FROM|WITH|CREATE|INSERT|DELETE|UPDATE|DROP|ATTACH|DESCRIBE)\b"
    r"|\bSELECT\b[\s\S]*\bFROM\b"
)
EXECUTING_CALLS = {"sql", "execute", "query"}
RELATION = re.compile(r"\b(staging|core|indicators|programme|publication|meta)\.([a-z_]+)\b")
HEADERS = {h for kind in KINDS.values() for h in (*kind.columns, *kind.sheet_columns)}


def wing_of(module: str) -> str | None:
    """`pipelines.ingest.readers` -> `ingest`; `pipelines.cli` -> `cli`; others None."""
    parts = module.split(".")
    if parts[0] != "pipelines" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def modules(package: Path) -> Iterator[tuple[Path, str, ast.Module]]:
    """Every module of the package: its path, dotted name and syntax tree."""
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        yield path, name, syntax_tree(path.read_text(encoding="utf-8"), str(path))


@cache
def syntax_tree(text: str, filename: str) -> ast.Module:
    """The syntax tree of a module's text, parsed once per test process: every rule reads the
    whole package, in every test, and no rule changes a tree (a planted module is new text, so
    it is parsed anew)."""
    return ast.parse(text, filename)


def imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) of every import, `from pipelines.x import y` also as `pipelines.x.y`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def dagster_only_in_defs(package: Path) -> list[str]:
    found = []
    for path, name, tree in modules(package):
        wing = wing_of(name)
        for line, module in imports(tree):
            top = module.split(".")[0]
            if top == "dagster" and wing not in DAGSTER_HOMES:
                found.append(f"{path.name}:{line} imports dagster outside defs/")
            if wing == "defs" and top in WIRING_FORBIDDEN_IMPORTS:
                found.append(f"{path.name}:{line} defs/ imports {top}: logic belongs in a wing")
        if wing != "defs":
            continue
        found += [
            f"{path.name}:{line} defs/ holds SQL: {text.strip()[:40]!r}"
            for line, text in strings(tree)
            if SQL_TEXT.search(text)
        ]
        found += [
            f"{path.name}:{node.lineno} defs/ runs a query (.{node.func.attr})"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTING_CALLS
        ]
    return found


def wings_import_downward(package: Path) -> list[str]:
    found = []
    for path, name, tree in modules(package):
        wing = wing_of(name)
        if wing is None:
            continue
        for line, module in imports(tree):
            target = wing_of(module)
            if target is None or target == wing or RANK[target] < RANK[wing]:
                continue
            found.append(f"{path.name}:{line} {wing} imports {module} ({target} is not below it)")
    return sorted(set(found))


def ingest_and_warehouse_apart(package: Path) -> list[str]:
    pairs = {("ingest", "warehouse"), ("warehouse", "ingest")}
    return sorted(
        {
            f"{path.name}:{line} {wing_of(name)} imports {module}"
            for path, name, tree in modules(package)
            for line, module in imports(tree)
            if (wing_of(name), wing_of(module)) in pairs
        }
    )


def demo_only_in_demo_and_cli(package: Path) -> list[str]:
    return sorted(
        {
            f"{path.name}:{line} imports {module}"
            for path, name, tree in modules(package)
            for line, module in imports(tree)
            if wing_of(module) == "demo" and wing_of(name) not in ("demo", "cli")
        }
    )


def pupil_level_relations(models: Path) -> set[str]:
    """Every staging view, and every other model whose SQL handles pupil keys, except the
    publication marts (aggregated for publishing): a report may read none of them."""
    found = set()
    for path in models.glob("*/*.sql"):
        schema = path.parent.name
        pupil_rows = schema == "staging" or "pupil_key" in path.read_text(encoding="utf-8")
        if schema != "publication" and pupil_rows:
            found.add(f"{schema}.{path.stem}")
    return found


def reports_read_aggregates_only(package: Path, models: Path = MODELS) -> list[str]:
    pupil_level = pupil_level_relations(models)
    found = []
    for path, name, tree in modules(package):
        if wing_of(name) != "reports":
            continue
        for line, module in imports(tree):
            if wing_of(module) == "ingest":
                found.append(f"{path.name}:{line} reports/ imports {module} (pupil-level rows)")
        for line, text in strings(tree):
            for match in RELATION.finditer(text):
                if match.group(0) in pupil_level:
                    found.append(f"{path.name}:{line} reports/ reads {match.group(0)}")
    return sorted(set(found))


def _constant(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_constant(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(
            _constant(k) and _constant(v) for k, v in zip(node.keys, node.values, strict=True)
        )
    return False


def _texts(nodes: list[ast.expr | None]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def contract_facts_in_one_place(package: Path) -> list[str]:
    """Outside `ingest/contract.py` (and the demo, which writes files for the other side of
    the contract, broken on purpose): no table keyed by kind holding literals, no list of
    the contract's headers, no map from headers to names."""
    found = []
    for path, name, tree in modules(package):
        if name == "pipelines.ingest.contract" or wing_of(name) == "demo":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = _texts(node.keys)
                by_kind = len([k for k in keys if k in KINDS]) >= 2 and _constant(node)
                header_map = len([k for k in keys if k in HEADERS]) >= 3 and _constant(node)
                if by_kind or header_map:
                    what = "a table keyed by kind" if by_kind else "a map of headers"
                    found.append(f"{path.name}:{node.lineno} defines {what}")
            elif isinstance(node, ast.Tuple | ast.List | ast.Set) and (
                len([t for t in _texts(node.elts) if t in HEADERS]) >= 3
            ):
                found.append(f"{path.name}:{node.lineno} lists the contract's headers")
    return found


RULES: dict[str, Callable[[Path], list[str]]] = {
    "dagster_only_in_defs": dagster_only_in_defs,
    "wings_import_downward": wings_import_downward,
    "ingest_and_warehouse_apart": ingest_and_warehouse_apart,
    "demo_only_in_demo_and_cli": demo_only_in_demo_and_cli,
    "reports_read_aggregates_only": reports_read_aggregates_only,
    "contract_facts_in_one_place": contract_facts_in_one_place,
}
# One planted violation per rule: (module written into a copy of the package, its text).
PLANTED: dict[str, tuple[str, str]] = {
    "dagster_only_in_defs": ("publication/_planted.py", "import dagster as dg\n"),
    "wings_import_downward": (
        "ingest/_planted.py",
        "from pipelines.publication.releases import load\n",
    ),
    "ingest_and_warehouse_apart": (
        "warehouse/_planted.py",
        "from pipelines.ingest.staging import read_table\n",
    ),
    "demo_only_in_demo_and_cli": (
        "publication/_planted.py",
        "from pipelines.demo.generate import generate\n",
    ),
    "reports_read_aggregates_only": (
        "reports/_planted.py",
        'QUERY = "SELECT count(*) FROM indicators.pupil_risk"\n',
    ),
    "contract_facts_in_one_place": (
        "ingest/_planted.py",
        'ROW_DATE = {"kavejumi": "date", "vertejumi": "date"}\n',
    ),
}
# Further plants that a rule must also catch: SQL in defs, a header list outside the contract.
MORE_PLANTED: list[tuple[str, str, str]] = [
    ("dagster_only_in_defs", "defs/_planted.py", 'PREVIEW = "FROM core.pupils LIMIT 5"\n'),
    ("dagster_only_in_defs", "defs/_planted.py", "def run(con):\n    return con.sql(TEXT)\n"),
    ("wings_import_downward", "reference/_planted.py", "import pipelines.ingest.contract\n"),
    (
        "contract_facts_in_one_place",
        "ingest/_planted.py",
        'COLUMNS = ("Personas kods", "Klase", "Datums")\n',
    ),
    ("reports_read_aggregates_only", "reports/_planted.py", "import pipelines.ingest.staging\n"),
]


@pytest.mark.parametrize("rule", list(RULES))
def test_the_package_keeps_the_rule(rule):
    assert RULES[rule](PACKAGE) == []


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("architecture") / "pipelines"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@contextmanager
def planted(package: Path, module: str, text: str) -> Iterator[Path]:
    path = package / module
    path.write_text(text, encoding="utf-8")
    try:
        yield path
    finally:
        path.unlink()


@pytest.mark.parametrize(
    ("rule", "module", "text"),
    [(rule, *PLANTED[rule]) for rule in RULES] + MORE_PLANTED,
    ids=[*RULES, *(f"{rule}-{i}" for i, (rule, *_) in enumerate(MORE_PLANTED))],
)
def test_a_planted_violation_is_caught(package_copy, rule, module, text):
    with planted(package_copy, module, text) as path:
        violations = RULES[rule](package_copy)
        assert [v for v in violations if v.startswith(path.name)], violations
    assert RULES[rule](package_copy) == []


def test_every_rule_has_a_planted_violation():
    assert set(PLANTED) == set(RULES)
