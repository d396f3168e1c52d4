"""A fake Kaltura API v3, written from its public documentation.

- `POST /api_v3/service/session/action/start` with `secret`, `partnerId`, `type` (2 = ADMIN), `expiry`: the KS as a
  JSON string, or a `KalturaAPIException` (`START_SESSION_ERROR`) for a wrong secret.
- `POST /api_v3/service/media/action/list` with `ks`, `filter` (`orderBy`, `createdAtGreaterThanOrEqual`,
  `updatedAtGreaterThanOrEqual`) and `pager` (`pageSize` at most 500, `pageIndex` from 1):
  `{"objectType": "KalturaMediaListResponse", "objects", "totalCount"}`; no entry past the 10,000th of a filter.
- `POST /api_v3/service/flavorasset/action/list` with `filter.entryIdIn`, `filter.statusEqual`.
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
        "createdAt": created_at,
        "updatedAt": fields.pop("updatedAt", created_at),
        "thumbnailUrl": f"https://cfvod.example/p/555/thumbnail/entry_id/{entry_id}/version/100002",
        **fields,
    }


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
        if action == "media/action/list":
            found = [
                e
                for e in self.entries
                if e["createdAt"] >= flt.get("createdAtGreaterThanOrEqual", 0)
                and e["updatedAt"] >= flt.get("updatedAtGreaterThanOrEqual", 0)
            ]
            if flt.get("orderBy") == "+createdAt":
                found.sort(key=lambda e: (e["createdAt"], e["id"]))
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
            start = (index - 1) * size
            return Reply(
                {
                    "objectType": "KalturaFlavorAssetListResponse",
                    "objects": flavors[start : start + size],
                    "totalCount": len(flavors),
                }
            )
        return Reply(exception("SERVICE_DOES_NOT_EXISTS", "no such service"))
