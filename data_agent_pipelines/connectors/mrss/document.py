"""The raw document before any parser sees it: refusing entity declarations, naming what a non-feed looks like,
and which encoding lxml is told to use.

A parser decodes the document with its declared encoding (or the HTTP charset), so every check runs on each
decoding a parser may use, not only on the raw bytes.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
from pathlib import Path

from lxml import etree

from ...errors import DocumentError

MAX_PROLOG_BYTES = 1 << 20


class UnsafeDocument(DocumentError):
    """The document was refused before any parser saw it; the message says why."""


class UnreadableDocument(DocumentError):
    """The document holds nothing usable (not a feed); the message says what it looks like."""


# Comments and processing instructions are skipped so that markup inside them is not taken for the root element;
# quoted strings (DOCTYPE system ids) likewise.
_PROLOG_TOKEN = re.compile(
    rb"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|<!\s*(ENTITY)|<([A-Za-z_:\x80-\xff][^\s/>]*)",
    re.DOTALL | re.IGNORECASE,
)


def _ascii_view(data: bytes) -> bytes:
    """The bytes as an ASCII-compatible encoding, so that markup can be searched in UTF-16/32 documents too."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32")):
        if data.startswith(bom):
            return data.decode(codec, "ignore").encode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "ignore").encode("utf-8")
    head = data[:4]
    if head.startswith(b"<\x00\x00\x00") or head.startswith(b"\x00\x00\x00<"):
        return data.decode("utf-32-le" if head[0] else "utf-32-be", "ignore").encode("utf-8")
    if head.startswith(b"<\x00") or head.startswith(b"\x00<"):
        return data.decode("utf-16-le" if head[0] else "utf-16-be", "ignore").encode("utf-8")
    return data


_XML_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_ENTITIES_DECLARED = (
    "the document declares XML entities (<!ENTITY> in its DOCTYPE), which can read local files or "
    "exhaust memory; feeds do not need them: ask the publisher to remove the DOCTYPE"
)


def _prolog_views(data: bytes, content_type: str | None) -> list[bytes]:
    """The start of the document as each encoding a parser may read it in, as ASCII-compatible bytes.

    A parser decodes the document with its declared encoding (or the HTTP charset): in UTF-7, say, "<!ENTITY" is
    written "+ADwAIQ-ENTITY", invisible to a scan of the raw bytes, so the scan is repeated on each decoding.
    """
    raw = _ascii_view(data)
    views = [raw]
    declared = _XML_DECLARED_ENCODING.match(raw)
    for encoding in (declared.group(1).decode("ascii") if declared else None, _http_charset(content_type)):
        if not encoding:
            continue
        try:
            codec = codecs.lookup(encoding)
        except LookupError:
            if _libxml2_knows(encoding):
                raise UnsafeDocument(
                    f"the document is encoded as {encoding!r}, which cannot be checked for unsafe content; "
                    "ask the publisher to serve it as UTF-8"
                ) from None
            continue
        if codec.name in ("utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"):
            continue  # ASCII-compatible: markup is the same bytes as in the raw view
        views.append(data.decode(codec.name, "ignore").encode("utf-8"))
    return views


def check_prolog(path: str | os.PathLike[str], content_type: str | None = None) -> str | None:
    """Refuse entity declarations before the root element; return the root element's name (None if there is none)."""
    with Path(path).open("rb") as file:
        data = file.read(MAX_PROLOG_BYTES + 1)
    if not data.strip():
        raise UnreadableDocument("the URL returned an empty document, not a feed: check the feed URL")
    root = None
    for view in _prolog_views(data[:MAX_PROLOG_BYTES], content_type):
        for match in _PROLOG_TOKEN.finditer(view):
            if match.group(1):
                raise UnsafeDocument(_ENTITIES_DECLARED)
            if match.group(2):
                root = root or match.group(2).decode("utf-8", "replace")
                break
    if root is None and len(data) > MAX_PROLOG_BYTES:
        raise UnsafeDocument("the document has more than 1 MiB before its first element; it was not read")
    return root


def describe_unreadable(data: bytes, root: str | None) -> str:
    """A message a customer can act on, saying what the document looks like instead of a feed."""
    view = _ascii_view(data[:4096]).lstrip().lower()
    if (root or "").lower() == "html" or view.startswith(b"<!doctype html") or b"<html" in view:
        return "the URL returned an HTML page, not a feed: check the feed URL or whether it needs a login"
    if not view:
        return "the URL returned an empty document, not a feed: check the feed URL"
    if root is None and view.startswith(b"<"):
        return "the URL returned an XML document without any element (empty or only comments), not a feed"
    if b"\x00" in view or sum(byte < 9 or 13 < byte < 32 for byte in view) > len(view) // 20:
        return "the URL returned binary data, not a feed: check the feed URL"
    if root is None:
        return "the URL returned text that is not XML, not a feed: check the feed URL"
    return f"the URL returned an XML document whose root element is <{root}>, not an RSS or Atom feed"


_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*encoding", re.IGNORECASE)


def _http_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" \"'"):
            charset = value.strip(" \"'")
            try:
                is_text = codecs.lookup(charset)._is_text_encoding
            except LookupError:
                return None
            return charset if is_text else None
    return None


@functools.cache
def _libxml2_knows(encoding: str) -> bool:
    try:
        etree.fromstring(b"<a/>", etree.XMLParser(encoding=encoding))
    except (LookupError, etree.XMLSyntaxError):
        return False
    return True


def lxml_encoding(path: str | os.PathLike[str], content_type: str | None) -> str | None:
    """The HTTP charset, when the document itself declares no encoding (no BOM, no encoding="...")."""
    charset = _http_charset(content_type)
    if charset is None or not _libxml2_knows(charset):
        return None
    with Path(path).open("rb") as file:
        head = file.read(256)
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4]:
        return None
    return None if _DECLARED_ENCODING.match(head.lstrip()) else charset


_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")
_ENTITY_ANYWHERE = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


def for_lenient_parser(data: bytes, content_type: str | None, where: str) -> bytes:
    """The whole of a document that is not well-formed (`where` says why), ready for feedparser.

    Raises UnsafeDocument when it declares entities anywhere: feedparser's lenient mode would expand them, and
    what lxml read before is not imported either.
    """
    if any(_ENTITY_ANYWHERE.search(view) for view in _prolog_views(data, content_type)):
        raise UnsafeDocument(_ENTITIES_DECLARED + f" (the document is also not well-formed XML: {where})")
    if b"\x00" not in data[:4]:
        # A raw "&" is the commonest reason a feed is not well-formed; feedparser would turn "R&D" into "R&D;".
        data = _BARE_AMPERSAND.sub(b"&amp;", data)
    return data
