"""A fake Kaltura API v3, written from its public documentation.

- `POST /api_v3/service/session/action/start` with `secret`, `partnerId`, `type` (2 = ADMIN), `expiry`: the KS as a
  JSON string, or a `KalturaAPIException` (`START_SESSION_ERROR`) for a wrong secret.
- `POST /api_v3/service/media/action/list` with `ks`, `filter` (`orderBy`, `createdAtGreaterThanOrEqual`,
  `updatedAtGreaterThanOrEqual`, `statusEqual` / `statusIn` / `statusNotEqual` / `statusNotIn`, the same four for
  `moderationStatus`) and `pager` (`pageSize` at most 500, `pageIndex` from 1):
  `{"objectType": "KalturaMediaListResponse", "objects", "totalCount"}`; no entry past the 10,000th of a filter.
  As the API's KalturaBaseEntryFilter does, a filter with none of the four status fields lists READY entries only
  (`statusEqual` 2), and one with none of the moderation fields leaves out entries pending moderation or rejected
  (`moderationStatusNotIn` "1,3").
- `POST /api_v3/service/flavorasset/action/list` with `filter.entryIdIn`, `filter.statusEqual`: two web flavors per
  entry and the original upload (`isOriginal`, tagged `source`).
- `POST /api_v3/service/caption_captionasset/action/list` with `filter.entryIdIn`: `KalturaCaptionAsset` objects
  (`languageCode`, `language`, `label`, `format` — KalturaCaptionType, a string enum — `status`, `fileExt`).
- `POST /api_v3/service/metadata_metadata/action/list` with `filter.objectIdIn`, `metadataObjectTypeEqual` 1:
  `KalturaMetadata` objects whose `xml` is the profile's `<metadata>…</metadata>`.
- Entries carry `mediaType` (1 video, 2 image, 5 audio), `status` (KalturaEntryStatus) and `accessControlId`.
- Errors are HTTP 200 with `{"objectType": "KalturaAPIException", "code", "message"}`; `INVALID_KS` echoes the KS.
"""

from __future__ import annotations

from typing import Any

from .apiserver import Faults, Reply, Request


def entry(entry_id: str, created_at: int, **fields: Any) -> dict[str, Any]:
    return {
        "objectType": "KalturaMediaEntry",
        "id": entry_id,
        "name": f"Entry {entry_id}",
        "description": "",
        "tags": "",
        "categories": "",
        "duration": 95,
        "msDuration": 95_120,
        "mediaType": 1,
        "status": 2,
        "moderationStatus": 6,  # AUTO_APPROVED: a partner without moderation
        "moderationCount": 0,
        "accessControlId": 4_711,
        "createdAt": created_at,
        "updatedAt": fields.pop("updatedAt", created_at),
        "thumbnailUrl": f"https://cfvod.example/p/555/thumbnail/entry_id/{entry_id}/version/100002",
        **fields,
    }


def _matches(flt: dict[str, Any], field: str, value: Any, default: dict[str, Any]) -> bool:
    """Whether an entry's `field` passes the filter's Equal / In / NotEqual / NotIn on it (enum values compared as
    text, as Kaltura's string enums are), or `default` when the filter has none of them. A value that is no enum
    value at all (a hostile answer a test plants) passes, so that the client sees it."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return True
    names = [f"{field}{op}" for op in ("Equal", "In", "NotEqual", "NotIn")]
    given = {name: flt[name] for name in names if flt.get(name) is not None} or default
    text = str(value)
    for name, wanted in given.items():
        listed = [part.strip() for part in str(wanted).split(",")]
        if name.endswith("NotEqual") and text == str(wanted):
            return False
        if name.endswith("NotIn") and text in listed:
            return False
        if name.endswith("Equal") and not name.endswith("NotEqual") and text != str(wanted):
            return False
        if name.endswith("In") and not name.endswith("NotIn") and text not in listed:
            return False
    return True


def exception(code: str, message: str) -> dict[str, Any]:
    return {"objectType": "KalturaAPIException", "code": code, "message": message, "args": []}


class FakeKaltura:
    def __init__(self, partner_id: str, secret: str, entries: list[dict[str, Any]], *, cap: int = 10_000) -> None:
        self.partner_id, self.secret = partner_id, secret
        self.entries = entries
        self.cap = cap
        self.sessions: list[str] = []
        self.expired: set[str] = set()
        self.calls_per_session: int | None = None  # a KS expires after this many calls
        self._calls = 0
        self.faults = Faults()
        self.captions: dict[str, list[dict[str, Any]]] = {}  # caption assets by entry id
        self.metadata: dict[str, list[dict[str, Any]]] = {}  # metadata objects by entry id
        self.plugins_off: set[str] = set()  # actions the partner has no plugin for (answered SERVICE_FORBIDDEN)

    def __call__(self, request: Request) -> Reply:
        fault = self.faults.take(request)
        if fault is not None:
            return fault
        params = request.json() or {}
        action = request.path.removeprefix("/api_v3/service/")
        if action == "session/action/start":
            if params.get("secret") != self.secret or str(params.get("partnerId")) != self.partner_id:
                return Reply(
                    exception(
                        "START_SESSION_ERROR", f"Error while starting session for partner [{params.get('partnerId')}]"
                    )
                )
            ks = f"djJ8NTU1fKS{len(self.sessions) + 1}"
            self.sessions.append(ks)
            return Reply(ks)
        ks = params.get("ks")
        if ks not in self.sessions or ks in self.expired:
            return Reply(exception("INVALID_KS", f'Invalid KS "{ks}" Error "-1,INVALID_STR"'))
        self._calls += 1
        if self.calls_per_session is not None and self._calls >= self.calls_per_session:
            self.expired.add(ks)  # this answer is the last one the KS gets
            self._calls = 0
        pager = params.get("pager") or {}
        size, index = int(pager.get("pageSize", 30)), int(pager.get("pageIndex", 1))
        if size > 500:
            return Reply(exception("INVALID_PAGER", "pageSize must be 500 or less"))
        flt = params.get("filter") or {}
        if action in self.plugins_off:
            return Reply(exception("SERVICE_FORBIDDEN", f"The access to service [{action}] is forbidden"))
        if action == "media/action/list":
            found = [
                e
                for e in self.entries
                if e["createdAt"] >= flt.get("createdAtGreaterThanOrEqual", 0)
                and e["updatedAt"] >= flt.get("updatedAtGreaterThanOrEqual", 0)
                and _matches(flt, "status", e.get("status"), {"statusEqual": 2})
                and _matches(flt, "moderationStatus", e.get("moderationStatus"), {"moderationStatusNotIn": "1,3"})
            ]
            if flt.get("orderBy") == "+createdAt":
                found.sort(key=lambda e: (e["createdAt"], str(e.get("id"))))
            start = (index - 1) * size
            chunk = found[start : min(start + size, self.cap)]
            return Reply({"objectType": "KalturaMediaListResponse", "objects": chunk, "totalCount": len(found)})
        if action == "flavorasset/action/list":
            ids = str(flt.get("entryIdIn", "")).split(",")
            flavors = [
                {
                    "objectType": "KalturaFlavorAsset",
                    "id": f"{i}-{h}",
                    "entryId": i,
                    "bitrate": h * 3,
                    "width": h * 16 // 9,
                    "height": h,
                    "fileExt": "mp4",
                    "tags": "mobile,web,mbr",
                    "status": 2,
                }
                for i in ids
                for h in (360, 720)
            ]
            flavors += [
                {
                    "objectType": "KalturaFlavorAsset",
                    "id": f"{i}-source",
                    "entryId": i,
                    "bitrate": 8_000,
                    "width": 1920,
                    "height": 1080,
                    "fileExt": "mp4",
                    "tags": "source",
                    "isOriginal": True,
                    "status": 2,
                }
                for i in ids
            ]
            start = (index - 1) * size
            return Reply(
                {
                    "objectType": "KalturaFlavorAssetListResponse",
                    "objects": flavors[start : start + size],
                    "totalCount": len(flavors),
                }
            )
        if action == "caption_captionasset/action/list":
            ids = str(flt.get("entryIdIn", "")).split(",")
            return self._listed("KalturaCaptionAssetListResponse", self.captions, ids, size, index)
        if action == "metadata_metadata/action/list":
            if str(flt.get("metadataObjectTypeEqual")) != "1":
                return Reply(exception("PROPERTY_VALIDATION_CANNOT_BE_NULL", "metadataObjectTypeEqual"))
            ids = str(flt.get("objectIdIn", "")).split(",")
            return self._listed("KalturaMetadataListResponse", self.metadata, ids, size, index)
        return Reply(exception("SERVICE_DOES_NOT_EXISTS", "no such service"))

    @staticmethod
    def _listed(kind: str, by_entry: dict[str, list[dict[str, Any]]], ids: list[str], size: int, index: int) -> Reply:
        found = [obj for i in ids for obj in by_entry.get(i, [])]
        start = (index - 1) * size
        return Reply({"objectType": kind, "objects": found[start : start + size], "totalCount": len(found)})


def caption(entry_id: str, n: int, language_code: str, language: str, **fields: Any) -> dict[str, Any]:
    """A KalturaCaptionAsset as `caption_captionasset.list` returns it."""
    return {
        "objectType": "KalturaCaptionAsset",
        "id": f"1_cap{n}",
        "entryId": entry_id,
        "partnerId": 555,
        "version": "1",
        "size": 2_048,
        "tags": "",
        "fileExt": "srt",
        "createdAt": 1_700_000_000,
        "updatedAt": 1_700_000_000,
        "captionParamsId": 0,
        "language": language,
        "languageCode": language_code,
        "isDefault": False,
        "label": language,
        "format": "1",
        "status": 2,
        "displayOnPlayer": True,
        "accuracy": 100,
        **fields,
    }


def metadata(entry_id: str, profile_id: int, xml: str) -> dict[str, Any]:
    """A KalturaMetadata (custom metadata of one profile) as `metadata_metadata.list` returns it."""
    return {
        "objectType": "KalturaMetadata",
        "id": 9_000 + profile_id,
        "partnerId": 555,
        "metadataProfileId": profile_id,
        "metadataProfileVersion": 3,
        "metadataObjectType": "1",
        "objectId": entry_id,
        "version": 2,
        "createdAt": 1_700_000_000,
        "updatedAt": 1_700_000_000,
        "status": 1,
        "xml": xml,
    }
