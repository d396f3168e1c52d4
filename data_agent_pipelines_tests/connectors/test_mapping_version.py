"""MAPPING_VERSION stands for the code that maps an item to an asset: that code cannot change without a new version.

An item whose origin digest is known is not mapped again (recognised items), and the digest holds no code, only
MAPPING_VERSION. So the modules that decide an asset (`digest.MAPPING_ROOTS` and every package module they import,
by name, at module level or in a function) are fingerprinted here and compared with the table recorded at the
current version (`mapping_fingerprints.py`). A fingerprint is a digest of the module's syntax tree without
docstrings, positions or empty fields: comments, docstrings and layout do not count, and it is the same on
Python 3.11 to 3.13.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Any

from data_agent_pipelines.connectors.mrss import digest, rules
from data_agent_pipelines.connectors.mrss.digest import MAPPING_ROOTS, MAPPING_VERSION

from ..import_graph import PACKAGE, modules, named_imports
from . import mapping_fingerprints

TABLE = Path(mapping_fingerprints.__file__).relative_to(PACKAGE.parent)
DIGEST_MODULE = Path(digest.__file__).relative_to(PACKAGE.parent)
_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def fingerprint(source: str) -> str:
    """A digest of a module's code: its syntax tree without docstrings, positions and empty fields."""
    words: list[str] = []
    _canonical(ast.parse(source), words)
    return hashlib.blake2b("\x1f".join(words).encode(), digest_size=16).hexdigest()


def _canonical(node: Any, words: list[str]) -> None:
    """Node type, then each non-empty field by name in sorted order: the parts that mean the same in 3.11-3.13.

    Versions add fields (`type_params`, empty unless used) and split an f-string's literal text differently
    (3.12 tokenizes f-strings), so empty fields are skipped and adjacent literal parts are joined.
    """
    if isinstance(node, list):
        words.append("[")
        for item in node:
            _canonical(item, words)
        words.append("]")
        return
    if not isinstance(node, ast.AST):
        words.append(f"{type(node).__name__}:{node!r}")
        return
    words.append(type(node).__name__)
    for name in sorted(node._fields):
        value = getattr(node, name, None)
        if name == "body" and isinstance(node, _DOCUMENTED) and value and _is_docstring(value[0]):
            value = value[1:]
        elif name == "values" and isinstance(node, ast.JoinedStr):
            value = _joined_literals(value)
        elif name == "format_spec" and isinstance(value, ast.JoinedStr) and not _joined_literals(value.values):
            value = None
        if value is None or (isinstance(value, list) and not value):
            continue
        words.append(name + "=")
        _canonical(value, words)
    words.append(")")


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _joined_literals(values: list[ast.expr]) -> list[ast.expr]:
    """An f-string's parts with adjacent literal text joined and empty literals dropped."""
    joined: list[ast.expr] = []
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            if not value.value:
                continue
            if joined and isinstance(joined[-1], ast.Constant) and isinstance(joined[-1].value, str):
                joined[-1] = ast.Constant(joined[-1].value + value.value)
                continue
        joined.append(value)
    return joined


def mapping_modules() -> dict[str, Path]:
    """The roots and every package module they import by name, transitively."""
    found = modules()
    closure: dict[str, Path] = {}
    todo = list(MAPPING_ROOTS)
    while todo:
        name = todo.pop()
        if name not in closure:
            closure[name] = found[name]
            todo.extend(named_imports(name, found[name], found))
    return closure


def table_text(version: int, fingerprints: dict[str, str]) -> str:
    """The text of mapping_fingerprints.py recording `fingerprints` at `version`."""
    rows = "".join(f'    "{name}": "{value}",\n' for name, value in sorted(fingerprints.items()))
    return (
        '"""The mapping\'s modules as test_mapping_version.py recorded them: replace this file when it says so."""\n'
        "\n"
        f"RECORDED_AT_VERSION = {version}\n"
        f"FINGERPRINTS = {{\n{rows}}}\n"
    )


def test_the_mapping_code_has_not_changed_since_its_version_was_recorded() -> None:
    current = {name: fingerprint(path.read_text()) for name, path in mapping_modules().items()}
    recorded, recorded_at = mapping_fingerprints.FINGERPRINTS, mapping_fingerprints.RECORDED_AT_VERSION
    assert recorded_at <= MAPPING_VERSION, (
        f"MAPPING_VERSION ({MAPPING_VERSION}) is lower than the version the fingerprints were recorded at "
        f"({recorded_at}): it only ever grows, or digests of a released version come back meaning other code"
    )
    if recorded_at < MAPPING_VERSION:
        raise AssertionError(
            f"MAPPING_VERSION is {MAPPING_VERSION} but {TABLE} was recorded at {recorded_at}: "
            f"replace {TABLE} with:\n\n{table_text(MAPPING_VERSION, current)}"
        )
    if current != recorded:
        changed = sorted(name for name in current.keys() & recorded.keys() if current[name] != recorded[name])
        joined, left = sorted(current.keys() - recorded.keys()), sorted(recorded.keys() - current.keys())
        raise AssertionError(
            "the code that maps an item to an asset changed "
            f"(changed: {changed or 'none'}; joined: {joined or 'none'}; left: {left or 'none'}) "
            f"while MAPPING_VERSION stayed {MAPPING_VERSION}, so assets imported by the old code would be "
            "recognised as current: set MAPPING_VERSION = "
            f"{MAPPING_VERSION + 1} in {DIGEST_MODULE} (every item is mapped again once) and replace {TABLE} "
            f"with:\n\n{table_text(MAPPING_VERSION + 1, current)}"
        )


def test_the_mapping_modules_are_the_roots_and_what_they_import() -> None:
    found = set(mapping_modules())
    assert found >= {
        *MAPPING_ROOTS,
        "data_agent_pipelines.connectors.mrss.rules",
        "data_agent_pipelines.connectors.mrss.values",
        "data_agent_pipelines.connectors.streams",
        "data_agent_pipelines.model",
    }
    # Neither the fallback (its items are never recognised) nor the package's __init__ modules decide an asset.
    assert not found & {
        "data_agent_pipelines.connectors.mrss.lenient",
        "data_agent_pipelines.connectors.mrss.digest",
        "data_agent_pipelines.connectors",
        "data_agent_pipelines.net",
    }


def test_comments_docstrings_and_layout_leave_the_fingerprint_alone_and_code_does_not() -> None:
    source = Path(rules.__file__).read_text()
    edits = [
        ('"""The mapping\'s rules', '"""The rules of the mapping'),
        ('"""The asset of one item\'s values', '"""Another docstring for build_asset'),
        ("    scope = item.scope\n", "    # a comment in a function\n\n    scope = item.scope  # after code\n"),
        ("\n\n\ndef ", "\n\n\n# before a function\ndef "),
    ]
    reworded = "# a new first line\n" + source
    for old, new in edits:
        assert old in reworded
        reworded = reworded.replace(old, new)
    assert reworded != source
    assert fingerprint(reworded) == fingerprint(source)
    changed = source.replace('DEFAULT_RATING_SCHEME = "urn:simple"', 'DEFAULT_RATING_SCHEME = "urn:other"')
    assert fingerprint(changed) != fingerprint(source)


def test_fstring_parts_and_empty_fields_are_canonical() -> None:
    assert fingerprint('x = f"a{{b{c}d" "e"') == fingerprint('x = f"a{{b{c}de"')
    assert fingerprint('x = f"{c:}"') == fingerprint('x = f"{c}"')
    assert fingerprint('x = f"{c!r}"') != fingerprint('x = f"{c}"')
    assert fingerprint('def f():\n    """Doc."""\n    return 1\n') == fingerprint("def f():\n    return 1\n")
    assert fingerprint('def f():\n    x = 1\n    "not a docstring"\n    return x\n') != fingerprint(
        "def f():\n    x = 1\n    return x\n"
    )
