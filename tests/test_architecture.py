"""The package's architecture, checked from the source (see docs/architecture.rst).

* No import cycle between custvalue's modules, counting function-local
  imports and ``if TYPE_CHECKING:`` imports (a cycle that only type checking
  sees is still a circle in the design).
* Function-local imports only for optional third-party dependencies.
* No ``_private`` name imported from another module, and no package's private
  module imported from outside that package.
* Each package imports only the layers below it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "custvalue"

#: Optional third-party dependencies: the only imports allowed inside functions.
OPTIONAL = {
    "pyarrow",
    "pandas",
    "tomli_w",
    "matplotlib",
    "dask",
    "distributed",
    "polars",
    "openpyxl",
    "tqdm",
    "rich",
    "pyspark",
    "xlsxwriter",
}

#: What each top-level part may import (besides itself).  Read top-down along
#: the data path; ``cli`` and the package root may import everything.
GROUND = {"_errors", "_arrays", "_optional", "_atomic", "_snapshot", "_ids", "_memo", "money", "months"}
LAYERS: dict[str, set[str]] = {
    "_errors": set(),
    "_arrays": {"_errors", "_memo"},
    "_optional": {"_errors"},
    "_atomic": {"_errors"},
    "_ids": set(),
    "_memo": set(),
    "_snapshot": {"_errors", "_arrays", "_optional", "_atomic", "money", "months"},
    "money": {"_errors", "_arrays"},
    "months": {"_errors"},
    "portfolio": GROUND,
    "io": GROUND | {"portfolio"},
    "synthetic": GROUND | {"portfolio"},
    "rules": {"_errors", "_arrays", "_optional"},
    "policy": GROUND | {"portfolio", "io", "rules"},
    "tiering": GROUND | {"portfolio", "io", "rules", "policy"},
    "allocation": GROUND | {"portfolio", "io", "policy"},
    "analytics": GROUND | {"portfolio", "io", "rules", "policy", "tiering", "allocation"},
    "dask": GROUND | {"portfolio", "io", "rules", "policy", "tiering", "allocation", "analytics"},
    "spark": GROUND | {"portfolio", "io", "rules", "policy", "tiering", "allocation", "analytics", "dask"},
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    return skip


def _imports(name: str) -> Iterator[tuple[ast.stmt, str, list[str], bool]]:
    """(node, imported module, imported names, inside a function or TYPE_CHECKING) for each import."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    typing_only = _type_checking_blocks(tree)
    local: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            local.update(id(n) for n in ast.walk(node) if n is not node)
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in typing_only:
            local.add(id(node))  # not at module level at run time
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, [], id(node) in local
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node, target, [a.name for a in node.names], id(node) in local


def _edges(name: str) -> set[str]:
    """custvalue modules that importing ``name`` executes directly (parents included)."""
    out: set[str] = set()
    for _, target, names, _local in _imports(name):
        if not target.startswith("custvalue"):
            continue
        mods = [target] + [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
        for mod in mods:
            out.add(mod)
            parts = mod.split(".")
            for k in range(1, len(parts)):
                parent = ".".join(parts[:k])
                if not (name == parent or name.startswith(parent + ".")):
                    out.add(parent)  # importing a.b.c runs a.b's __init__ first
    out.discard(name)
    return {m for m in out if m in MODULES}


def _cycles() -> list[list[str]]:
    graph = {m: _edges(m) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for m in graph:
        if m not in index:
            visit(m)
    return found


def test_the_walker_sees_the_modules_and_their_edges() -> None:
    # guards against a walker that finds nothing and so passes vacuously
    assert "custvalue.tiering._evaluate" in MODULES and "custvalue.rules.ast" in MODULES
    assert "custvalue.tiering._kernel" in _edges("custvalue.tiering._evaluate")
    assert "custvalue.policy" in _edges("custvalue.tiering._kernel")
    assert "custvalue.rules.ast" in _edges("custvalue.rules")


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _edges

    def with_cycle(name: str) -> set[str]:
        extra = {"custvalue.money"} if name == "custvalue.months" else set()
        if name == "custvalue.money":
            extra = {"custvalue.months"}
        return real(name) | extra

    monkeypatch.setitem(globals(), "_edges", with_cycle)
    assert ["custvalue.money", "custvalue.months"] in _cycles()


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_function_local_imports_only_for_optional_dependencies() -> None:
    bad = [
        f"{name}:{node.lineno} imports {target}"
        for name in MODULES
        for node, target, _, local in _imports(name)
        if local and target.split(".")[0] not in OPTIONAL
    ]
    assert bad == []


def test_no_private_names_or_modules_imported_across_boundaries() -> None:
    bad = []
    for name in MODULES:
        for node, target, names, _ in _imports(name):
            if not target.startswith("custvalue"):
                continue
            for n in names:
                if n.startswith("_") and n != "__version__" and f"{target}.{n}" not in MODULES:
                    bad.append(f"{name}:{node.lineno} imports private name {n} from {target}")
            mods = [target] + [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            for mod in mods:
                parts = mod.split(".")
                for k, part in enumerate(parts[1:], start=1):
                    owner = ".".join(parts[:k])
                    if (
                        part.startswith("_")
                        and part != "__init__"
                        and k >= 2
                        and not (name == owner or name.startswith(owner + "."))
                    ):
                        bad.append(f"{name}:{node.lineno} imports {mod}, private to {owner}")
    assert bad == []


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_each_package_imports_only_the_layers_below_it() -> None:
    bad = []
    for name in MODULES:
        part = _part(name)
        if part in ("", "cli", "__main__"):
            continue
        allowed = LAYERS.get(part)
        assert allowed is not None, f"{part} is not in the architecture's layer table"
        for dep in _edges(name):
            other = _part(dep)
            if other and other != part and other not in allowed:
                bad.append(f"{name} imports {dep} ({part} may import {sorted(allowed)})")
    assert bad == []


def test_every_exception_class_is_exported_under_a_public_path() -> None:
    import importlib

    packages = [m for m in MODULES if not any(p.startswith("_") for p in m.split("."))]
    exported: dict[type, set[str]] = {}
    for name in packages:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", ()):
            obj = getattr(mod, attr, None)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                exported.setdefault(obj, set()).add(name)
    defined = []
    for name in MODULES:
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Violation")):
                defined.append((name, node.name))
    assert len(defined) >= 30  # the walker sees the error classes
    problems = []
    for name, cls_name in defined:
        cls = getattr(importlib.import_module(name), cls_name)
        if cls not in exported:
            problems.append(f"{name}.{cls_name} is not exported by any package")
        elif any(p.startswith("_") for p in cls.__module__.split(".")):
            problems.append(f"{cls_name} shows the private path {cls.__module__}")
        elif cls.__module__ not in exported[cls]:
            problems.append(f"{cls_name} shows {cls.__module__}, which does not export it")
    assert problems == []
