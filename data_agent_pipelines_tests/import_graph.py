"""The package's modules and the imports between them, read from their source (imports inside functions too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import data_agent_pipelines

PACKAGE = Path(data_agent_pipelines.__file__).parent


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its `__init__`)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _named(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The package module each import in the text of `name` names (the deepest module of a dotted name)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
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
            if candidate:
                yield candidate


def named_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules `name` imports by name: whose code it uses."""
    return set(_named(name, path, modules)) - {name}


def run_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules importing `name` runs: those it names, and the packages those imports run first."""
    targets: set[str] = set()
    for candidate in _named(name, path, modules):
        # Importing a.b.c runs a/__init__ and a/b/__init__ first.
        parts = candidate.split(".")
        targets.update(".".join(parts[:n]) for n in range(2, len(parts) + 1))
    targets.discard(name)
    return {target for target in targets if target in modules and not name.startswith(target + ".")}
