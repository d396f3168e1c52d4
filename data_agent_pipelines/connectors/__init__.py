"""One module (Media RSS: a package) per source kind; `connector_for(kind)` returns the one that imports it."""

from __future__ import annotations

from .base import Connector, ConnectorUnavailable


def connector_for(kind: str) -> Connector:
    """The connector of a source kind; ConnectorUnavailable for kinds declared but not built yet."""
    if kind == "mrss":
        from .mrss.connector import MediaRssConnector

        return MediaRssConnector()
    if kind == "backstage-json":
        from .backstage_json import BackstageJsonConnector

        return BackstageJsonConnector()
    if kind == "jwplayer":
        from .jwplayer import JWPlayerConnector

        return JWPlayerConnector()
    if kind == "brightcove":
        from .brightcove import BrightcoveConnector

        return BrightcoveConnector()
    if kind == "kaltura":
        from .kaltura import KalturaConnector

        return KalturaConnector()
    if kind == "vimeo":
        from .vimeo import VimeoConnector

        return VimeoConnector()
    raise ConnectorUnavailable(
        f"sources of kind {kind!r} cannot be imported by this version of data-agent yet; "
        "only mrss, backstage-json, jwplayer, brightcove, kaltura and vimeo can"
    )
