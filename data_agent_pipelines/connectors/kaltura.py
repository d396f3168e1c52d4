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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..model import Asset, Availability, Edition, Image, Source, Stream
from ..net import HttpClient
from .base import Fetched, Parse
from .ovp.auth import CredentialExpired, ExpiringToken, NoAuth
from .ovp.client import ApiClient
from .ovp.paging import Page, PageRequest, Paging, collect, item_id_field
from .ovp.platform import credential, option
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
            entry_filter: dict[str, Any] = {"objectType": "KalturaMediaEntryFilter", "orderBy": "+createdAt"}
            if request.window_start is not None:
                entry_filter["createdAtGreaterThanOrEqual"] = request.window_start
            if sweep.since is not None:
                entry_filter["updatedAtGreaterThanOrEqual"] = int(sweep.since.timestamp())
            pager = {"objectType": "KalturaFilterPager", "pageSize": request.size, "pageIndex": request.number}
            body = call("media/action/list", filter=entry_filter, pager=pager)
            return Page(items=list(body.get("objects") or []), total=body.get("totalCount"))

        def with_flavors(entries: list[dict[str, Any]]) -> None:
            flavors: dict[str, list[dict[str, Any]]] = {}

            def fetch_flavors(request: PageRequest) -> Page:
                flavor_filter = {
                    "objectType": "KalturaFlavorAssetFilter",
                    "entryIdIn": ",".join(e["id"] for e in entries),
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
            for entry in entries:
                entry["flavors"] = flavors.get(entry["id"], [])
            store.add(entries)

        store = PageStore(workdir / "entries.jsonl")
        flavor_notes: list[str] = []  # a flavor listing cut short leaves some entries without all their streams
        paging = Paging(size=PAGE_SIZE, cap=LIST_CAP, window_key=lambda entry: entry.get("createdAt"))
        collected = collect(fetch_page, paging, with_flavors, what="entries")
        for note in flavor_notes:
            collected.stop(note)
        return fetched_from(store, collected, sweep, service + "media/action/list")

    def parse(self, source: Source, fetched: Fetched) -> Parse:
        """Map the stored entries to assets."""
        assert fetched.path is not None
        partner_id = option(source, "partner_id", SPEC)
        return StoredItems(fetched.path, "kaltura-api-v3", lambda e: entry_asset(e, source, partner_id), item_id_field)

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
    options=(Setting("partner_id", "the partner ID", required=True), INCREMENTAL, FULL_SWEEP_EVERY, TIMEOUT),
    credentials=(
        Setting("admin_secret", "the partner's admin secret", either="session"),
        Setting("ks", "a session", either="session"),
    ),
)


# --- mapping ------------------------------------------------------------------------------------------------------


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def entry_asset(entry: dict[str, Any], source: Source, partner_id: str) -> Asset:
    """One media entry (with its `flavors`) as an asset."""
    entry_id = str(entry["id"])
    scheme = urlsplit(source.url).scheme or "https"
    manifest = f"{source.url.rstrip('/')}/p/{partner_id}/sp/{partner_id}00/playManifest/entryId/{entry_id}"
    streams = [Stream(url=f"{manifest}/format/applehttp/protocol/{scheme}/a.m3u8", type="hls", default=True)]
    for flavor in entry.get("flavors") or []:
        extension = flavor.get("fileExt") or "mp4"
        if "web" not in _csv(flavor.get("tags")) and extension != "mp4":
            continue  # source files and other non-playable renditions
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
    start, end = _epoch(entry.get("startDate")), _epoch(entry.get("endDate"))
    custom = {"reference_id": str(entry["referenceId"])} if entry.get("referenceId") else {}
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
        editions=[Edition(name="full", streams=streams)],
        custom=custom,
    )
