"""Every source kind is declared once, beside its code, and fully: the registry, validation, the CLI's help, the API
schema and the connectors' documentation all follow from the declarations, and a kind that is registered anywhere
without being fully specified fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from data_agent_pipelines.connectors import registry
from data_agent_pipelines.connectors.base import ConnectorUnavailable
from data_agent_pipelines.connectors.spec import Setting, SourceKind
from data_agent_pipelines.errors import InvalidInput
from data_agent_pipelines.source_settings import (
    SourceChanges,
    default_api_url,
    validate_changes,
    validate_source,
    validate_url,
)

from ..clirunner import run_cli

CONNECTORS = Path(registry.__file__).parent
DOCS = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
# Calls through which connector code reads a source's settings: the setting's key is their second argument.
SETTING_READERS = {"option": "options", "int_option": "options", "bool_option": "options", "credential": "credentials"}

KINDS = registry.source_kinds()


def _modules() -> dict[str, ast.Module]:
    """The connector package's modules by dotted name below it (`jwplayer`, `ovp.auth`, `mrss.mapping`…)."""
    found = {}
    for path in CONNECTORS.rglob("*.py"):
        parts = path.relative_to(CONNECTORS).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text())
    return found


def _declared_kinds(tree: ast.Module) -> set[str]:
    """The `kind = "…"` class attributes of a module: the kinds its connectors say they import."""
    return {
        node.value.value
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "kind" for t in node.targets)
        and isinstance(node.value, ast.Constant)
    }


def _settings_read(tree: ast.Module) -> set[tuple[str, str]]:
    """("options" | "credentials", key) for every setting the module's code reads by a literal key."""
    read = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in SETTING_READERS:
                read.add((SETTING_READERS[name], node.args[1].value))
        container = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            container, key = node.func.value, node.args[0].value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            container, key = node.value, node.slice.value
        if isinstance(container, ast.Attribute) and container.attr in ("options", "credentials"):
            read.add((container.attr, key))
    return read


def _declared_settings(spec: SourceKind) -> set[tuple[str, str]]:
    specs = (spec, *spec.modes.values())
    return {("options", s.key) for m in specs for s in m.options} | {
        ("credentials", s.key) for m in specs for s in m.credentials
    }


def _imports(name: str, tree: ast.Module) -> set[str]:
    """The connector modules `name` imports relatively (`from .ovp.auth import …` -> ovp.auth, ovp)."""
    package = name.rpartition(".")[0] if not (CONNECTORS / name.replace(".", "/") / "__init__.py").exists() else name
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
            target = ".".join(p for p in [*anchor, node.module or ""] if p)
            parts = target.split(".")
            found.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
            found.update(f"{target}.{alias.name}".lstrip(".") for alias in node.names)
    return found


def test_every_connector_in_the_code_has_a_spec_and_every_spec_a_connector() -> None:
    in_code = set().union(*(_declared_kinds(tree) for tree in _modules().values()))
    assert in_code == set(KINDS)
    assert {"mrss", "backstage-json", "jwplayer", "brightcove", "kaltura", "vimeo", "mux"} <= set(KINDS)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_spec_is_complete(kind: str) -> None:
    spec = KINDS[kind]
    connector = registry.connector_for(kind)
    assert getattr(connector, "kind", None) == kind
    assert callable(getattr(connector, "fetch", None)) and callable(getattr(connector, "parse", None))
    assert spec.title.strip() and spec.summary.strip()
    for mode in (spec, *spec.modes.values()):
        assert mode.kind == kind
        settings = [*mode.options, *mode.credentials]
        assert all(s.help.strip() and re.fullmatch(r"[a-z_]+", s.key) for s in settings)
        assert len({s.key for s in settings}) == len(settings), "a setting is declared twice"
        if mode.default_url:
            assert validate_url(mode.default_url) == mode.default_url
        # A platform that refuses the credentials is answered with the settings to check.
        assert mode.access_hint or not mode.credentials
    if spec.mode_option is not None:
        mode_setting = spec.all_options().get(spec.mode_option)
        assert mode_setting is not None and set(spec.modes) <= set(mode_setting.choices)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_setting_the_code_reads_is_declared(kind: str) -> None:
    """A kind's module and the shared modules it imports (base, the platform toolkit) read only declared keys."""
    modules = _modules()
    spec = KINDS[kind]
    own = next(name for name, tree in modules.items() if kind in _declared_kinds(tree))
    reached = {own} | {m for m in _imports(own, modules[own]) if m in modules}
    read = set().union(*(_settings_read(modules[m]) for m in reached))
    undeclared = read - _declared_settings(spec)
    assert not undeclared, f"{kind} reads settings its SPEC does not declare: {sorted(undeclared)}"
    assert ("options", "timeout") in read, "the scan found nothing: it no longer sees how settings are read"


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_docs_describe_every_kind_and_its_settings(kind: str) -> None:
    text = DOCS.read_text()
    heading = re.search(rf"^## .*\(`{re.escape(kind)}`\)$", text, re.MULTILINE)
    assert heading, f"docs/connectors.md has no section for {kind}"
    section = text[heading.end() :].split("\n## ", 1)[0]
    shared = text.split("## What every platform connector shares", 1)[-1].split("\n## ", 1)[0]
    spec = KINDS[kind]
    for _, key in sorted(_declared_settings(spec)):
        named = re.compile(rf"[`\s]{key}[=`]")
        assert named.search(section) or named.search(shared), f"docs/connectors.md does not say what {kind}'s {key} is"


def test_the_cli_help_and_the_api_schema_list_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    from data_agent_pipelines.api.schemas import SourceCreate

    help_text = run_cli(capsys, "sources", "add", "--help").out
    for spec in KINDS.values():
        assert re.search(rf"^\s+{re.escape(spec.kind)}\s+{re.escape(spec.summary[:20])}", help_text, re.MULTILINE)
        for needed in spec.missing({}, {}):
            assert needed.split("=")[0].split()[-1] in help_text
    schema = SourceCreate.model_json_schema()["properties"]["kind"]
    assert schema["enum"] == list(KINDS)


def test_validation_follows_the_spec() -> None:
    with pytest.raises(InvalidInput, match=r"a kaltura source needs --option partner_id=… \(the partner ID\), "):
        validate_source("kaltura", {}, {}, None)
    with pytest.raises(InvalidInput, match=r"--credential admin_secret=… \(.*\) or --credential ks=…"):
        validate_source("kaltura", {"partner_id": "1"}, {}, None)
    validate_source("kaltura", {"partner_id": "1"}, {"ks": "session"}, None)
    with pytest.raises(InvalidInput, match="for a public Delivery API playlist give --option api=delivery instead"):
        validate_source("jwplayer", {}, {}, None)
    validate_source("jwplayer", {"api": "delivery"}, {}, None)
    with pytest.raises(InvalidInput, match=r"invalid --option api='v1': use management \(default\) or delivery"):
        validate_source("jwplayer", {"api": "v1"}, {}, None)
    with pytest.raises(InvalidInput, match="invalid --option timeout='0'"):
        validate_source("mrss", {"timeout": "0"}, {}, None)
    with pytest.raises(InvalidInput, match="invalid --option oauth_url"):
        validate_changes(SourceChanges(options={"oauth_url": "ftp://tokens.example.com/"}), creating=False)
    assert default_api_url("jwplayer", {}) == KINDS["jwplayer"].default_url
    assert default_api_url("jwplayer", {"api": "delivery"}) is None
    assert default_api_url("mrss", {}) is None


def test_an_unknown_kind_has_no_connector() -> None:
    with pytest.raises(ConnectorUnavailable, match=r"'youtube' cannot be imported by this version.*mrss"):
        registry.connector_for("youtube")


def test_alternatives_are_one_need() -> None:
    spec = SourceKind(
        kind="x",
        title="X",
        summary="x",
        connector=object,
        options=(Setting("a", "A", required=True),),
        credentials=(Setting("k", "K", either="auth"), Setting("t", "T", either="auth")),
    )
    assert spec.missing({}, {}) == ["--option a=… (A)", "--credential k=… (K) or --credential t=… (T)"]
    assert spec.missing({"a": "1"}, {"t": "2"}) == []
