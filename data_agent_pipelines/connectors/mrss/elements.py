"""The lxml reader: an item element (and the channel elements before the first item) -> the values `rules` maps.

One handler per element the mapping reads, looked up by qualified tag; each records what it finds through the
`rules` functions into the scope of its level (the item, a `media:group`, a `media:content`, the channel). A
simple element no handler reads is kept as a custom value of its level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from ...model import Asset
from .namespaces import (
    ATOM03_NS,
    ATOM_NS,
    CONTENT_NS,
    CORE_NAMESPACES,
    DC_NS,
    DCTERMS_NS,
    ITUNES_NS,
    KNOWN_PREFIXES,
    MEDIA_NS,
    MEDIA_NS_NO_SLASH,
    RDF_NS,
    RSS1_NS,
)
from .rules import (
    ItemValues,
    Scope,
    add_content,
    add_credit,
    add_custom,
    add_enclosure,
    add_keywords,
    add_rating,
    add_restriction,
    add_subtitle,
    add_text,
    add_thumbnail,
    build_asset,
    put,
)

Handler = Callable[[ItemValues, Any, Scope], None]


def _text(el: Any) -> str:
    text = el.text
    return text.strip() if text else ""


def _walk(item: ItemValues, el: Any, scope: Scope, handlers: dict[str, Handler], collect_custom: bool) -> None:
    handler_of = handlers.get
    for child in el:
        # lxml builds a new string on every `.tag`: read it once per child.
        tag = child.tag
        handler = handler_of(tag)
        if handler is not None:
            handler(item, child, scope)
        elif collect_custom and isinstance(tag, str) and not len(child):
            _custom(child, tag, scope)


_custom_keys: dict[str, str] = {}


def _custom_key(el: Any, tag: str) -> str:
    key = _custom_keys.get(tag)
    if key is None:
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if namespace in CORE_NAMESPACES:
            key = local
        else:
            prefix = KNOWN_PREFIXES.get(namespace) or el.prefix
            key = f"{prefix}:{local}" if prefix else local
        # Document prefixes vary per feed; only well-known namespaces are worth remembering.
        if namespace in CORE_NAMESPACES or namespace in KNOWN_PREFIXES:
            _custom_keys[tag] = key
    return key


def _custom(el: Any, tag: str, scope: Scope) -> None:
    value = _text(el) or el.get("url") or el.get("href")
    if value:
        add_custom(scope, _custom_key(el, tag), value)


def _setter(key: str) -> Handler:
    """`put` of the element's text, inlined: the commonest handler."""

    def handle(item: ItemValues, el: Any, scope: Scope) -> None:
        if key not in scope:
            text = el.text
            if text:
                value = text.strip()
                if value:
                    scope[key] = value

    return handle


def _appender(key: str) -> Handler:
    def handle(item: ItemValues, el: Any, scope: Scope) -> None:
        add_text(scope, key, el.text)

    return handle


def _rich_text(key: str) -> Handler:
    """Atom text constructs: type="xhtml" content is serialised markup, the rest is text."""

    def handle(item: ItemValues, el: Any, scope: Scope) -> None:
        if key in scope:
            return
        if len(el) and el.get("type") == "xhtml":
            value = "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in el).strip()
        else:
            value = _text(el)
        if value:
            scope[key] = value

    return handle


def _thumbnail(item: ItemValues, el: Any, scope: Scope) -> None:
    add_thumbnail(scope, el.get("url"), el.get("width"), el.get("height"))


def _credit(item: ItemValues, el: Any, scope: Scope) -> None:
    add_credit(scope, el.text, el.get("role"))


def _rating(item: ItemValues, el: Any, scope: Scope) -> None:
    add_rating(scope, el.text, el.get("scheme"))


def _restriction(item: ItemValues, el: Any, scope: Scope) -> None:
    add_restriction(scope, el.get("relationship"), el.get("type"), el.text)


def _media_category(item: ItemValues, el: Any, scope: Scope) -> None:
    add_text(scope, "genres", _text(el) or el.get("label"))


def _itunes_category(item: ItemValues, el: Any, scope: Scope) -> None:
    add_text(scope, "genres", (el.get("text") or "").strip() or el.text)
    for child in el:
        if child.tag == _ITUNES_CATEGORY:
            _itunes_category(item, child, scope)


def _keywords(item: ItemValues, el: Any, scope: Scope) -> None:
    add_keywords(scope, el.text)


def _category(item: ItemValues, el: Any, scope: Scope) -> None:
    if el.get("domain") or el.get("scheme"):
        return
    add_text(scope, "categories", _text(el) or el.get("term"))


def _subtitle(item: ItemValues, el: Any, scope: Scope) -> None:
    add_subtitle(scope, el.get("href") or el.get("url"), el.get("lang"), el.get("type"))


def _player(item: ItemValues, el: Any, scope: Scope) -> None:
    add_custom(scope, "player_url", (el.get("url") or "").strip())


def _itunes_image(item: ItemValues, el: Any, scope: Scope) -> None:
    put(scope, "itunes_image", (el.get("href") or "").strip() or el.text)


def _atom_author(item: ItemValues, el: Any, scope: Scope) -> None:
    for child in el:
        if child.tag in _ATOM_NAMES:
            add_text(scope, "authors", child.text)


def _atom_link(item: ItemValues, el: Any, scope: Scope) -> None:
    href = (el.get("href") or "").strip()
    if not href:
        return
    rel = el.get("rel") or "alternate"
    if rel == "alternate":
        put(scope, "link", href)
    elif rel == "enclosure":
        add_enclosure(scope, href, el.get("type"))


def _enclosure(item: ItemValues, el: Any, scope: Scope) -> None:
    add_enclosure(scope, el.get("url"), el.get("type"))


def _content(item: ItemValues, el: Any, scope: Scope) -> None:
    content_scope: Scope = {}
    if len(el):
        _walk(item, el, content_scope, _CONTENT_HANDLERS, True)
    add_content(item, content_scope, el.get)


def _group(item: ItemValues, el: Any, scope: Scope) -> None:
    group_scope: Scope = {}
    _walk(item, el, group_scope, _GROUP_HANDLERS, True)
    item.group_scopes.append(group_scope)


def _media_tags(namespace: str) -> dict[str, Handler]:
    m = f"{{{namespace}}}"
    return {
        m + "title": _setter("media_title"),
        m + "description": _setter("media_description"),
        m + "thumbnail": _thumbnail,
        m + "credit": _credit,
        m + "rating": _rating,
        m + "restriction": _restriction,
        m + "category": _media_category,
        m + "keywords": _keywords,
        m + "subTitle": _subtitle,
        m + "player": _player,
    }


_MEDIA_HANDLERS = _media_tags(MEDIA_NS) | _media_tags(MEDIA_NS_NO_SLASH)
_CONTENT_HANDLERS = dict(_MEDIA_HANDLERS)
_GROUP_HANDLERS = _CONTENT_HANDLERS | {f"{{{ns}}}content": _content for ns in (MEDIA_NS, MEDIA_NS_NO_SLASH)}
_ITUNES = f"{{{ITUNES_NS}}}"
_ITUNES_CATEGORY = _ITUNES + "category"
_ATOM_NAMES = (f"{{{ATOM_NS}}}name", f"{{{ATOM03_NS}}}name", "name")


def _item_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = dict(_GROUP_HANDLERS)
    handlers.update({f"{{{ns}}}group": _group for ns in (MEDIA_NS, MEDIA_NS_NO_SLASH)})
    for core in ("", f"{{{RSS1_NS}}}"):
        handlers[core + "title"] = _setter("title")
        handlers[core + "description"] = _setter("description")
        handlers[core + "link"] = _setter("link")
        handlers[core + "guid"] = _setter("guid")
        handlers[core + "pubDate"] = _setter("published")
        handlers[core + "category"] = _category
        handlers[core + "enclosure"] = _enclosure
    for atom in (f"{{{ATOM_NS}}}", f"{{{ATOM03_NS}}}"):
        handlers[atom + "title"] = _rich_text("title")
        handlers[atom + "summary"] = _rich_text("summary")
        handlers[atom + "content"] = _rich_text("content")
        handlers[atom + "id"] = _setter("id")
        handlers[atom + "link"] = _atom_link
        handlers[atom + "published"] = _setter("published")
        handlers[atom + "issued"] = _setter("published")
        handlers[atom + "updated"] = _setter("updated")
        handlers[atom + "modified"] = _setter("updated")
        handlers[atom + "author"] = _atom_author
        handlers[atom + "category"] = _category
    handlers.update(
        {
            f"{{{CONTENT_NS}}}encoded": _setter("content"),
            f"{{{DC_NS}}}date": _setter("dc_date"),
            f"{{{DC_NS}}}creator": _appender("authors"),
            f"{{{DCTERMS_NS}}}valid": _setter("valid"),
            f"{{{DCTERMS_NS}}}date": _setter("dc_date"),
            _ITUNES + "title": _setter("itunes_title"),
            _ITUNES + "subtitle": _setter("short_description"),
            _ITUNES + "summary": _setter("itunes_summary"),
            _ITUNES + "duration": _setter("duration"),
            _ITUNES + "image": _itunes_image,
            _ITUNES + "author": _setter("itunes_author"),
            _ITUNES + "category": _itunes_category,
            _ITUNES + "explicit": _setter("explicit"),
            _ITUNES + "keywords": _keywords,
            _ITUNES + "episode": _setter("episode"),
            _ITUNES + "season": _setter("season"),
            _ITUNES + "episodeType": _setter("episode_type"),
        }
    )
    return handlers


def _channel_handlers() -> dict[str, Handler]:
    handlers = {
        tag: handler
        for tag, handler in _MEDIA_HANDLERS.items()
        if handler in (_thumbnail, _credit, _rating, _restriction, _media_category, _keywords, _subtitle)
    }
    handlers.update(
        {
            _ITUNES + "image": _itunes_image,
            _ITUNES + "author": _setter("itunes_author"),
            _ITUNES + "category": _itunes_category,
            _ITUNES + "explicit": _setter("explicit"),
            f"{{{DCTERMS_NS}}}valid": _setter("valid"),
            "image": _channel_image,
            f"{{{RSS1_NS}}}image": _channel_image,
            "title": _setter("channel_title"),
            f"{{{RSS1_NS}}}title": _setter("channel_title"),
            f"{{{ATOM_NS}}}title": _setter("channel_title"),
            f"{{{ATOM03_NS}}}title": _setter("channel_title"),
            f"{{{ATOM_NS}}}logo": _setter("channel_image"),
            f"{{{ATOM_NS}}}icon": _setter("channel_icon"),
        }
    )
    return handlers


def _channel_image(item: ItemValues, el: Any, scope: Scope) -> None:
    for child in el:
        if isinstance(child.tag, str) and child.tag.endswith("url") and _text(child):
            scope.setdefault("channel_image", _text(child))
    if el.get(f"{{{RDF_NS}}}resource"):
        scope.setdefault("channel_image", el.get(f"{{{RDF_NS}}}resource").strip())


_ITEM_HANDLERS = _item_handlers()
_CHANNEL_HANDLERS = _channel_handlers()


def channel_scope(first_item: Any) -> Scope:
    """Defaults from the channel (or Atom feed) elements that precede the first item."""
    scope: Scope = {}
    parent = first_item.getparent()
    if parent is None:
        return scope
    unused = ItemValues()
    for child in parent:
        if child is first_item:
            break
        handler = _CHANNEL_HANDLERS.get(child.tag)
        if handler is not None:
            handler(unused, child, scope)
    return scope


def map_item(el: Any, channel: Scope, default_type: str, origin_digest: str | None = None) -> Asset:
    """One item/entry element -> Asset (raises ItemError when the item cannot be used)."""
    item = ItemValues()
    _walk(item, el, item.scope, _ITEM_HANDLERS, True)
    return build_asset(item, channel, default_type, origin_digest)


# Where an item states its id, in the mapping's order of preference (rules.build_asset): guid, Atom id, link.
_ID_TAGS = {
    **dict.fromkeys(("guid", f"{{{RSS1_NS}}}guid"), 0),
    **dict.fromkeys((f"{{{ATOM_NS}}}id", f"{{{ATOM03_NS}}}id"), 1),
    **dict.fromkeys(("link", f"{{{RSS1_NS}}}link", f"{{{ATOM_NS}}}link", f"{{{ATOM03_NS}}}link"), 2),
}


def declared_id(el: Any) -> str | None:
    """The id an item element states (guid, Atom id, else link), read without mapping it: a failed item keeps it."""
    found: dict[int, str] = {}
    for child in el:
        rank = _ID_TAGS.get(child.tag) if isinstance(child.tag, str) else None
        if rank is None or rank in found:
            continue
        is_atom_link = (
            rank == 2 and child.tag.startswith("{") and child.tag.endswith("}link") and "href" in child.attrib
        )
        value = (child.get("href") if is_atom_link else child.text) or ""
        if value.strip():
            found[rank] = value.strip()
    return found[min(found)] if found else None
