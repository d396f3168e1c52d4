"""The layout of the package and its tests: no import cycle (counting the imports inside functions, which must
not dodge one), and the shared corpus required where CI says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from .import_graph import modules, run_imports


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
    found = modules()
    graph = {name: run_imports(name, path, found) for name, path in found.items()}
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


def test_the_catalog_reaches_nothing_above_it() -> None:
    """Not even through another module: the catalog never runs a connector's, an export's or Dagster's code."""
    found = modules()
    graph = {name: run_imports(name, path, found) for name, path in found.items()}
    reached: dict[str, list[str]] = {}
    for name in graph:
        if name == "data_agent_pipelines.catalog" or name.startswith("data_agent_pipelines.catalog."):
            seen = {name}
            stack = [(name, [name])]
            while stack:
                module, path = stack.pop()
                for target in graph[module] - seen:
                    seen.add(target)
                    if _above_the_catalog(target):
                        reached.setdefault(name, []).append(" -> ".join([*path, target]))
                    else:
                        stack.append((target, [*path, target]))
    assert "data_agent_pipelines.catalog.store" in graph
    assert reached == {}


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
