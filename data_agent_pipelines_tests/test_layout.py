"""The layout of the package and its tests: no import cycle (counting the imports inside functions, which must
not dodge one), and the shared corpus required where CI says so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import data_agent_pipelines

PACKAGE = Path(data_agent_pipelines.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules `name` imports anywhere in its text, and the packages those imports run first."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            parts = candidate.split(".")
            targets.update(".".join(parts[:n]) for n in range(2, len(parts) + 1))
    targets.discard(name)
    return {target for target in targets if target in modules and not name.startswith(target + ".")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert len(graph) > 50 and "data_agent_pipelines.importing" in graph["data_agent_pipelines.orchestration.imports"]
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


# The catalog is below everything that uses it: what exports, connects, orchestrates or serves depends on it.
CATALOG_MUST_NOT_IMPORT = ("export", "connectors", "orchestration", "api", "cli")


def _above_the_catalog(module: str) -> bool:
    return any(
        module == f"data_agent_pipelines.{name}" or module.startswith(f"data_agent_pipelines.{name}.")
        for name in CATALOG_MUST_NOT_IMPORT
    )


def test_the_catalog_imports_nothing_above_it() -> None:
    modules = _modules()
    found = {
        name: sorted(target for target in _imports(name, path, modules) if _above_the_catalog(target))
        for name, path in modules.items()
        if name == "data_agent_pipelines.catalog" or name.startswith("data_agent_pipelines.catalog.")
    }
    assert len(found) > 10 and "data_agent_pipelines.catalog.store" in found
    assert {name: targets for name, targets in found.items() if targets} == {}


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_a_missing_corpus_skips_here_and_fails_where_it_is_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from . import conftest

    monkeypatch.setattr(conftest, "CORPUS", tmp_path / "absent")
    monkeypatch.setattr(conftest, "CORPUS_REQUIRED", False)
    with pytest.raises(pytest.skip.Exception, match="not at"):
        conftest.corpus("feed.xml")
    monkeypatch.setattr(conftest, "CORPUS_REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="must be"):
        conftest.corpus("feed.xml")
