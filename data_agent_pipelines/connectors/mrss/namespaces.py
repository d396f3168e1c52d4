"""The namespaces a feed's elements live in, the prefixes custom keys use for them, and the item and root tags."""

from __future__ import annotations

MEDIA_NS = "http://search.yahoo.com/mrss/"
MEDIA_NS_NO_SLASH = "http://search.yahoo.com/mrss"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
DCTERMS_NS = "http://purl.org/dc/terms/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM03_NS = "http://purl.org/atom/ns#"
RSS1_NS = "http://purl.org/rss/1.0/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

KNOWN_PREFIXES = {
    MEDIA_NS: "media",
    MEDIA_NS_NO_SLASH: "media",
    ITUNES_NS: "itunes",
    DCTERMS_NS: "dcterms",
    DC_NS: "dc",
    ATOM_NS: "atom",
    ATOM03_NS: "atom",
    CONTENT_NS: "content",
    "http://www.youtube.com/xml/schemas/2015": "yt",
    "http://www.google.com/schemas/play-podcasts/1.0": "googleplay",
    "https://podcastindex.org/namespace/1.0": "podcast",
}
# Namespaces whose elements are item structure, not extensions: their unread simple elements keep the bare name.
CORE_NAMESPACES = ("", RSS1_NS, ATOM_NS, ATOM03_NS)

ITEM_TAGS = ("item", f"{{{RSS1_NS}}}item", f"{{{ATOM_NS}}}entry", f"{{{ATOM03_NS}}}entry")
FEED_ROOTS = frozenset(("rss", f"{{{RDF_NS}}}RDF", f"{{{ATOM_NS}}}feed", f"{{{ATOM03_NS}}}feed"))
