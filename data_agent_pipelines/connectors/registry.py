"""The source kinds this version can import: the `SPEC` of every module in this package, found by walking it, so
that adding a kind is adding its module (or package)."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path

from .base import Connector, ConnectorUnavailable
from .spec import SourceKind

_PACKAGE = __name__.rpartition(".")[0]


@functools.cache
def source_kinds() -> dict[str, SourceKind]:
    """Every kind by name: feeds first, then platforms, each by name."""
    found: dict[str, SourceKind] = {}
    # Walked to the bottom: a kind with several modules (mrss/) keeps its SPEC beside its connector class.
    for module in pkgutil.walk_packages([str(Path(__file__).parent)], prefix=f"{_PACKAGE}."):
        spec = getattr(importlib.import_module(module.name), "SPEC", None)
        if not isinstance(spec, SourceKind):
            continue
        if spec.kind in found:
            raise RuntimeError(f"two connector modules declare the source kind {spec.kind!r}")
        found[spec.kind] = spec
    return dict(sorted(found.items(), key=lambda item: (item[1].default_url is not None, item[0])))


def kind_names() -> tuple[str, ...]:
    """The names of every kind, in the order of `source_kinds`."""
    return tuple(source_kinds())


def source_kind(kind: str) -> SourceKind:
    """The spec of `kind`; ConnectorUnavailable when this version has no connector for it."""
    try:
        return source_kinds()[kind]
    except KeyError:
        raise ConnectorUnavailable(
            f"sources of kind {kind!r} cannot be imported by this version of data-agent; "
            f"it imports {', '.join(kind_names())}"
        ) from None


def connector_for(kind: str) -> Connector:
    """A connector that imports sources of `kind`."""
    return source_kind(kind).connector()
