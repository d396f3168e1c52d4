"""Kaltura: the media entries of a partner through API v3 (`media.list`), with their flavors as streams.

`--url` the service URL (default `https://www.kaltura.com/`), `--option partner_id=…`, and either
`--credential admin_secret=…` (a KS is started with `session.start`, type ADMIN, and started again when Kaltura
says it is invalid or expired) or `--credential ks=…` (a KS given as is; when it expires the import fails and says
so). Calls are POSTs with a JSON body, so the secret and the KS never travel in a URL.

`media.list` is ordered `+createdAt` and paged with `pageIndex` / `pageSize` (500, the most allowed). Kaltura lists
at most 10,000 entries per filter, so a longer listing is narrowed with `createdAtGreaterThanOrEqual` from the last
entry read. The READY flavors of each page's entries (`flavorAsset.list`, `entryIdIn`) become mp4 streams via
`playManifest`; the entry's adaptive HLS manifest is the default stream. Incremental fetches filter
`updatedAtGreaterThanOrEqual`. Kaltura reports API errors as HTTP 200 with a `KalturaAPIException` body.

The flavor tagged `source` (`isOriginal`, the original upload) is no stream. Only video entries (`mediaType` 1)
are assets: image, audio and live entries are skipped with the reason, as are deleted ones. An entry that is not
READY (importing, converting, pending, in moderation, failed, blocked) is imported unpublished, with the reason and
no stream, as is a READY entry pending moderation or rejected in it. The list asks for those entries explicitly
(`statusIn`, `moderationStatusIn`): without a status filter Kaltura lists only READY, approved entries.

Each page's captions (`caption_captionasset.list`, served by `captionAsset.serve`) and custom metadata
(`metadata_metadata.list`, each profile's XML) are read too (`--option captions=false` / `metadata=false` skip
them); a partner without those plugins gets a note, not a failed import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from lxml import etree

from ..errors import PlatformError, SourceAuthError
from ..model import Asset, Availability, Edition, Image, Source, Stream, Subtitle
from ..net import HttpClient
from .base import Fetched, Parse
from .languages import language_of_label
from .ovp.auth import CredentialExpired, ExpiringToken, NoAuth
from .ovp.client import ApiClient
from .ovp.paging import Page, PageRequest, Paging, collect, item_id_field
from .ovp.platform import bool_option, credential, option
from .ovp.store import PageStore, StoredItems, fetched_from
from .ovp.sweep import Sweep
from .spec import FULL_SWEEP_EVERY, INCREMENTAL, TIMEOUT, Setting, SourceKind

PAGE_SIZE = 500
LIST_CAP = 10_000
SESSION_SECONDS = 86_400
# Codes of KalturaAPIException that mean the session or the partner's credentials are not (or no longer) valid.
SESSION_ERRORS = frozenset(
    {"INVALID_KS", "EXPIRED_KS", "KS_EXPIRED", "SERVICE_FORBIDDEN", "START_SESSION_ERROR", "INVALID_PARTNER_ID"}
)
READY = 2
METADATA_OBJECT_ENTRY = 1  # KalturaMetadataObjectType ENTRY


class _Session:
    """The KS of a fetch: started from the admin secret (and restarted when rejected), or given as a credential."""

    def __init__(self, start: Callable[[], tuple[str, float]] | None, given: str | None) -> None:
        self._token = ExpiringToken(start) if start else None
        self._given = given

    def ks(self) -> str:
        return self._token.token() if self._token else str(self._given)

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, str]:
        return {"ks": self.ks()}

    def renew(self) -> bool:
        return self._token.renew() if self._token else False


def _check(body: Any) -> None:
    if isinstance(body, dict) and body.get("objectType") == "KalturaAPIException":
        if body.get("code") in SESSION_ERRORS:
            raise CredentialExpired(str(body.get("code")))
        raise _ApiException(str(body.get("code")), str(body.get("message") or ""))


class _ApiException(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")


class _Related:
    """Objects of one plugin service listed for a page's entries (captions, custom metadata), kept on each entry.

    These plugins may be off for a partner: an error answer stops asking for the rest of the fetch and leaves a
    note, rather than failing an import whose entries can be read without them.
    """

    def __init__(
        self,
        call: Callable[..., Any],
        action: str,
        base_filter: dict[str, Any],
        ids_key: str,
        entry_key: str,
        what: str,
        *,
        wanted: bool,
    ) -> None:
        self._call = call
        self._action = action
        self._filter = base_filter
        self._ids_key = ids_key
        self._entry_key = entry_key
        self._what = what
        self.wanted = wanted
        self.notes: list[str] = []

    def attach(self, entries: list[dict[str, Any]], field: str) -> None:
        """Set `entries[...][field]` to the entry's objects (a list), or leave it out when they could not be read."""
        found: dict[Any, list[Any]] = {}

        def fetch(request: PageRequest) -> Page:
            flt = {**self._filter, self._ids_key: ",".join(e["id"] for e in entries)}
            pager = {"objectType": "KalturaFilterPager", "pageSize": request.size, "pageIndex": request.number}
            body = self._call(self._action, filter=flt, pager=pager)
            objects = body.get("objects") if isinstance(body, dict) else None
            return Page(items=list(objects or []), total=body.get("totalCount") if isinstance(body, dict) else None)

        def keep(objects: list[Any]) -> None:
            for obj in objects:
                if isinstance(obj, dict):
                    found.setdefault(obj.get(self._entry_key), []).append(obj)

        try:
            listed = collect(fetch, Paging(size=PAGE_SIZE), keep, what=self._what)
        except (PlatformError, SourceAuthError) as exc:
            self.wanted = False
            self.notes.append(
                f"the {self._what} of the entries were not read ({exc}); --option {field}=false stops asking"
            )
            return
        if not listed.complete:
            self.notes += [f"{self._what}: {note}" for note in listed.notes]
        for entry in entries:
            entry[field] = found.get(entry["id"], [])


def _has_id(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("id"), str) and bool(entry["id"])


def _skipped(entry: dict[str, Any]) -> bool:
    """Whether the entry will be skipped; one whose type or status cannot be read is not (its mapping fails it)."""
    try:
        return skip_reason(entry) is not None
    except (TypeError, ValueError):
        return False


class KalturaConnector:
    """`kind kaltura`."""

    kind = "kaltura"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] | None = None):
        self._sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))

    def fetch(self, source: Source, http: HttpClient, workdir: Path) -> Fetched:
        """Read every entry (or every changed one) and its flavors into a page store in `workdir`."""
        partner_id = option(source, "partner_id", SPEC)
        service = source.url.rstrip("/") + "/api_v3/service/"
        session = self._session(source, http, service, partner_id)
        api = ApiClient(http, source, SPEC, session, check=_check, sleep=self._sleep)

        def call(action: str, **params: Any) -> Any:
            try:
                return api.call("POST", service + action, json={**params, "format": 1})
            except _ApiException as exc:
                raise api.failed(str(exc)) from None

        sweep = Sweep.plan(source, now=self._now())

        def fetch_page(request: PageRequest) -> Page:
            entry_filter: dict[str, Any] = {
                "objectType": "KalturaMediaEntryFilter",
                "orderBy": "+createdAt",
                "statusIn": LISTED_STATUSES,
                "moderationStatusIn": LISTED_MODERATION_STATUSES,
            }
            if request.window_start is not None:
                entry_filter["createdAtGreaterThanOrEqual"] = request.window_start
            if sweep.since is not None:
                entry_filter["updatedAtGreaterThanOrEqual"] = int(sweep.since.timestamp())
            pager = {"objectType": "KalturaFilterPager", "pageSize": request.size, "pageIndex": request.number}
            body = call("media/action/list", filter=entry_filter, pager=pager)
            return Page(items=list(body.get("objects") or []), total=body.get("totalCount"))

        captions = _Related(
            call,
            "caption_captionasset/action/list",
            {"objectType": "KalturaCaptionAssetFilter"},
            "entryIdIn",
            "entryId",
            "captions",
            wanted=bool_option(source, "captions"),
        )
        metadata = _Related(
            call,
            "metadata_metadata/action/list",
            {"objectType": "KalturaMetadataFilter", "metadataObjectTypeEqual": METADATA_OBJECT_ENTRY},
            "objectIdIn",
            "objectId",
            "custom metadata",
            wanted=bool_option(source, "metadata"),
        )

        def with_flavors(entries: list[Any]) -> None:
            flavors: dict[str, list[dict[str, Any]]] = {}
            # An entry that is no object or has no id is stored as it came (its mapping fails it alone); an entry
            # that is no playable video has no flavors to ask for.
            listed_entries = [e for e in entries if _has_id(e) and not _skipped(e)]
            if not listed_entries:
                store.add(entries)
                return

            def fetch_flavors(request: PageRequest) -> Page:
                flavor_filter = {
                    "objectType": "KalturaFlavorAssetFilter",
                    "entryIdIn": ",".join(e["id"] for e in listed_entries),
                    "statusEqual": READY,
                }
                pager = {"objectType": "KalturaFilterPager", "pageSize": request.size, "pageIndex": request.number}
                body = call("flavorasset/action/list", filter=flavor_filter, pager=pager)
                return Page(items=list(body.get("objects") or []), total=body.get("totalCount"))

            def keep(found: list[dict[str, Any]]) -> None:
                for flavor in found:
                    flavors.setdefault(flavor.get("entryId"), []).append(flavor)

            listed = collect(fetch_flavors, Paging(size=PAGE_SIZE), keep, what="flavors")
            flavor_notes.extend(listed.notes)
            for entry in listed_entries:
                entry["flavors"] = flavors.get(entry["id"], [])
            if captions.wanted:
                captions.attach(listed_entries, "captions")
            if metadata.wanted:
                metadata.attach(listed_entries, "metadata")
            store.add(entries)

        store = PageStore(workdir / "entries.jsonl")
        flavor_notes: list[str] = []  # a flavor listing cut short leaves some entries without all their streams
        paging = Paging(
            size=PAGE_SIZE,
            cap=LIST_CAP,
            window_key=lambda entry: entry.get("createdAt") if isinstance(entry, dict) else None,
        )
        collected = collect(fetch_page, paging, with_flavors, what="entries")
        for note in flavor_notes:
            collected.stop(note)
        fetched = fetched_from(store, collected, sweep, service + "media/action/list")
        fetched.notes += captions.notes + metadata.notes
        return fetched

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored entries to assets."""
        assert fetched.path is not None
        partner_id = option(source, "partner_id", SPEC)
        return StoredItems(
            fetched.path, "kaltura-api-v3", lambda e: entry_asset(e, source, partner_id), item_id_field, skip_reason
        )

    def _session(self, source: Source, http: HttpClient, service: str, partner_id: str) -> _Session:
        if not source.credentials.get("admin_secret"):
            return _Session(None, credential(source, "ks", SPEC))
        secret = credential(source, "admin_secret", SPEC)
        # session.start itself carries the admin secret as a parameter: there is no session yet.
        starter = ApiClient(http, source, SPEC, NoAuth(), check=_check, sleep=self._sleep)

        def start() -> tuple[str, float]:
            params = {"secret": secret, "partnerId": partner_id, "type": 2, "expiry": SESSION_SECONDS, "format": 1}
            try:
                ks = starter.call("POST", service + "session/action/start", json=params)
            except _ApiException as exc:
                raise starter.failed(str(exc)) from None
            if not isinstance(ks, str) or not ks:
                raise starter.failed("session.start did not return a KS")
            return ks, float(SESSION_SECONDS)

        return _Session(start, None)


SPEC = SourceKind(
    kind="kaltura",
    title="Kaltura",
    access_hint="--credential admin_secret (the partner's admin secret) or --credential ks, and --option partner_id",
    summary="the media entries of a Kaltura partner",
    connector=KalturaConnector,
    default_url="https://www.kaltura.com/",
    options=(
        Setting("partner_id", "the partner ID", required=True),
        Setting("captions", "false skips reading the entries' captions (caption assets)"),
        Setting("metadata", "false skips reading the entries' custom metadata (metadata profiles)"),
        INCREMENTAL,
        FULL_SWEEP_EVERY,
        TIMEOUT,
    ),
    credentials=(
        Setting("admin_secret", "the partner's admin secret", either="session"),
        Setting("ks", "a session", either="session"),
    ),
)


# --- mapping ------------------------------------------------------------------------------------------------------

# KalturaMediaType: only video entries are assets; why each other type is skipped.
VIDEO = 1
SKIPPED_MEDIA_TYPES = {
    2: "image",
    5: "audio",
    201: "live stream",
    202: "live stream",
    203: "live stream",
    204: "live stream",
}
# KalturaEntryStatus (a string enum: numbers, and the virus scan plugin's names).
DELETED = 3
NOT_READY = {
    0: "it is still being imported (status IMPORT)",
    1: "it is still being converted (status PRECONVERT)",
    4: "it is pending (status PENDING)",
    5: "it awaits moderation (status MODERATE)",
    7: "it has no content yet (status NO_CONTENT)",
}
FAILED = {
    -2: "its import failed (status ERROR_IMPORTING)",
    -1: "its conversion failed (status ERROR_CONVERTING)",
    6: "it is blocked (status BLOCKED)",
}
# The statuses `media.list` is asked for. Given no status filter, Kaltura lists READY entries only (the API's
# KalturaBaseEntryFilter sets statusEqual READY when statusEqual, statusIn, statusNotEqual and statusNotIn are all
# absent), so an entry still converting or failed would be silently absent and fall under --on-missing. Every
# status the mapping reads is asked for, except DELETED: a deleted entry counts as gone either way, and asking
# would list every entry the partner ever deleted. The virus-scan plugin's statuses are plugin values, not asked
# for: such an entry is not playable and counts as gone.
LISTED_STATUSES = ",".join(str(status) for status in sorted({READY, *NOT_READY, *FAILED}))
# KalturaEntryModerationStatus. Given no moderation filter, Kaltura leaves out entries pending moderation and
# rejected ones (moderationStatusNotIn 1,3); both are listed and imported unpublished, since Kaltura's player
# refuses them to viewers. DELETED (4) is not asked for.
PENDING_MODERATION, REJECTED = 1, 3
LISTED_MODERATION_STATUSES = "1,2,3,5,6"
IN_MODERATION = {
    PENDING_MODERATION: "it awaits moderation (moderationStatus PENDING_MODERATION)",
    REJECTED: "it was rejected in moderation (moderationStatus REJECTED)",
}
# KalturaCaptionType: the formats a web player reads; CAP and SCC are broadcast formats.
CAPTION_FORMATS = {1: "SRT", 2: "DFXP", 3: "WebVTT"}
BROADCAST_CAPTION_FORMATS = {4: "CAP", 5: "SCC"}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _enum(value: Any, what: str) -> int | str | None:
    """A Kaltura enum value as its JSON gives it (a number, or the number as text; some are names): int if numeric."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(f"{what} is {value!r}, not a Kaltura enum value")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else text[:60]
    raise TypeError(f"{what} is a {type(value).__name__}, not a Kaltura enum value")


def skip_reason(entry: dict[str, Any]) -> str | None:
    """Why a listed entry is no asset: not a video (image, audio, live), or deleted."""
    media_type = _enum(entry.get("mediaType"), "mediaType")
    if media_type is not None and media_type != VIDEO:
        kind = SKIPPED_MEDIA_TYPES.get(media_type) if isinstance(media_type, int) else None
        return f"not video entries (mediaType {media_type}{f', {kind}' if kind else ''})"
    if _enum(entry.get("status"), "status") == DELETED:
        return "deleted in Kaltura (status DELETED)"
    return None


def _withheld(entry: dict[str, Any]) -> str | None:
    """Why Kaltura does not play the entry (None when it is READY, or says nothing)."""
    status = _enum(entry.get("status"), "status")
    moderation = _enum(entry.get("moderationStatus"), "moderationStatus")
    if status is None or status == READY:
        if moderation in IN_MODERATION:
            return f"Kaltura does not play the entry to viewers: {IN_MODERATION[moderation]}"
        return None
    if status in NOT_READY:
        return f"the entry is not ready on Kaltura: {NOT_READY[status]}"
    if status in FAILED:
        return f"Kaltura cannot play the entry: {FAILED[status]}"
    return f"Kaltura cannot play the entry (status {status})"


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _is_source(flavor: dict[str, Any]) -> bool:
    """The original upload: `isOriginal`, or the `source` tag Kaltura gives the source flavor."""
    return flavor.get("isOriginal") is True or "source" in _csv(flavor.get("tags"))


def _flavor_streams(flavors: Any, manifest: str, scheme: str) -> list[Stream]:
    if not isinstance(flavors, list):
        raise TypeError(f"the entry's flavors are a {type(flavors).__name__}, not a list")
    streams = []
    for flavor in flavors:
        if not isinstance(flavor, dict) or not flavor.get("id") or _is_source(flavor):
            continue  # the original upload is no rendition
        extension = flavor.get("fileExt") or "mp4"
        if "web" not in _csv(flavor.get("tags")) and extension != "mp4":
            continue  # renditions a player cannot take
        streams.append(
            Stream(
                url=f"{manifest}/flavorId/{flavor['id']}/format/url/protocol/{scheme}/a.{extension}",
                type="mp4" if extension == "mp4" else "other",
                mime="video/mp4" if extension == "mp4" else None,
                bitrate=flavor.get("bitrate") or None,
                width=flavor.get("width") or None,
                height=flavor.get("height") or None,
            )
        )
    return streams


def _subtitles(captions: Any, service: str, notes: list[str]) -> list[Subtitle]:
    """READY caption assets in a format a web player reads, served by `captionAsset.serve`."""
    if captions is None:
        return []
    if not isinstance(captions, list):
        raise TypeError(f"the entry's captions are a {type(captions).__name__}, not a list")
    subtitles = []
    for n, caption in enumerate(captions):
        if not isinstance(caption, dict) or _enum(caption.get("status"), f"caption {n} status") not in (None, READY):
            continue
        asset_id = caption.get("id")
        if not isinstance(asset_id, str) or not asset_id:
            notes.append(f"caption {n} has no id: not read")
            continue
        caption_format = _enum(caption.get("format"), f"caption {asset_id} format")
        if caption_format in BROADCAST_CAPTION_FORMATS:
            notes.append(
                f"caption {asset_id} is in {BROADCAST_CAPTION_FORMATS[caption_format]}, a broadcast format web players "
                "do not read: not imported"
            )
            continue
        code, name = caption.get("languageCode"), caption.get("language")
        language = code if isinstance(code, str) and code.strip() else language_of_label(name)
        label = caption.get("label") if isinstance(caption.get("label"), str) and caption["label"].strip() else None
        subtitles.append(
            Subtitle(
                url=f"{service}caption_captionasset/action/serve/captionAssetId/{quote(asset_id, safe='')}",
                language=language,
                label=label or (name if isinstance(name, str) and name.strip() else None),
            )
        )
    return subtitles


def _custom_metadata(objects: Any, notes: list[str]) -> dict[str, str]:
    """The fields of the entry's custom metadata (each profile's XML `<metadata><Field>value</Field>…`).

    A field given several values (a multi-value field) joins them with ", ".
    """
    if objects is None:
        return {}
    if not isinstance(objects, list):
        raise TypeError(f"the entry's custom metadata is a {type(objects).__name__}, not a list")
    values: dict[str, list[str]] = {}
    for obj in objects:
        xml = obj.get("xml") if isinstance(obj, dict) else None
        if not isinstance(xml, str) or not xml.strip():
            continue
        try:
            root = etree.fromstring(xml.encode(), _XML_PARSER)
        except etree.XMLSyntaxError as exc:
            notes.append(f"custom metadata {str(obj.get('id'))[:40]} is not well-formed XML ({exc}): not read")
            continue
        for element in root:
            if not isinstance(element.tag, str):
                continue  # comments, processing instructions
            text = (element.text or "").strip()
            if text:
                values.setdefault(etree.QName(element).localname, []).append(text)
    return {name: ", ".join(texts) for name, texts in values.items()}


def entry_asset(entry: dict[str, Any], source: Source, partner_id: str) -> Asset:
    """One media entry (with its `flavors`, `captions` and `metadata`) as an asset."""
    entry_id = str(entry["id"])
    scheme = urlsplit(source.url).scheme or "https"
    manifest = f"{source.url.rstrip('/')}/p/{partner_id}/sp/{partner_id}00/playManifest/entryId/{entry_id}"
    service = source.url.rstrip("/") + "/api_v3/service/"
    withheld = _withheld(entry)
    notes: list[str] = []
    streams: list[Stream] = []
    if withheld is None:  # an entry that is not ready has no manifest to play yet
        streams = [Stream(url=f"{manifest}/format/applehttp/protocol/{scheme}/a.m3u8", type="hls", default=True)]
        streams += _flavor_streams(entry.get("flavors") or [], manifest, scheme)
    start, end = _epoch(entry.get("startDate")), _epoch(entry.get("endDate"))
    custom = _custom_metadata(entry.get("metadata"), notes)
    if entry.get("referenceId"):
        custom["reference_id"] = str(entry["referenceId"])
    if entry.get("accessControlId") is not None:
        custom["access_control_id"] = str(entry["accessControlId"])
    return Asset(
        external_id=entry_id,
        type=source.asset_type,
        title=entry.get("name") or None,
        description=entry.get("description") or None,
        duration=int(entry["duration"]) if entry.get("duration") else None,
        published_at=_epoch(entry.get("createdAt")),
        availability=Availability(start=start, end=end) if start or end else None,
        images=[Image(url=entry["thumbnailUrl"], role="thumbnail")] if entry.get("thumbnailUrl") else [],
        tags=_csv(entry.get("tags")),
        genres=_csv(entry.get("categories")),
        editions=[Edition(name="full", streams=streams, subtitles=_subtitles(entry.get("captions"), service, notes))],
        custom=custom,
        notes=notes,
        unpublished=withheld,
    )
