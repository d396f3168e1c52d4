"""Push triggers: a platform's webhook (or a CMS) tells the data agent that a source's origin has changed.

Not under API keys: each source has its own hook secret (`data-agent sources hook-token ID`), which is what a
platform's webhook can be given. See `hook_auth.py` for how a push proves it holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from ...catalog.hooks import SourceHooks
from ...errors import Conflict, NotFound
from ..auth import Context
from ..context import ApiContext
from ..errors import Unauthorized
from ..hook_auth import push_is_authentic

router = APIRouter(prefix="/hooks", tags=["hooks"])
QUERY_HELP = "The source's hook token, for platforms that can be given a URL only."

REFUSED = (
    "no source matches this hook URL and secret: check the URL and the token (or the signing secret); a token"
    " stops working when it is rotated (`data-agent sources hook-token SOURCE_ID --rotate`)"
)


@router.post(
    "/{service}/{source_id}",
    status_code=202,
    summary="Queue an import of the source now, on a push from its platform (at most one waits at a time)",
)
async def push(
    request: Request,
    context: Context,
    service: Annotated[str, Path(max_length=100)],
    source_id: Annotated[str, Path(max_length=40)],
    token: Annotated[str | None, Query(max_length=500, description=QUERY_HELP)] = None,
) -> dict[str, Any]:
    """Answers 202 with `status` `queued` (a new run, its `run_id`) or `already queued` (the run that waits)."""
    body = await request.body()
    headers = request.headers
    return await run_in_threadpool(_push, context, service, source_id, headers, body, token)


def _push(
    context: ApiContext, service: str, source_id: str, headers: Mapping[str, str], body: bytes, token: str | None
) -> dict[str, Any]:
    from ...launcher import queue_pushed_import

    catalog = context.catalog
    try:
        source = catalog.get_source(source_id)
    except NotFound:
        raise Unauthorized(REFUSED) from None
    hooks = SourceHooks(catalog)
    secret = hooks.secret(source_id) if source.service == service else None
    # One answer for an unknown source, another service's, one without a secret and a wrong secret: a caller
    # without the secret learns nothing about which sources exist.
    if secret is None or not push_is_authentic(secret, headers, body, query_token=token, now=catalog.clock()):
        raise Unauthorized(REFUSED)
    if not source.enabled:
        raise Conflict(
            f"source {source_id} is disabled: pushes do not import it (enable it with"
            f" `data-agent sources enable {source_id}`)"
        )
    with hooks.pushing(source_id):
        run_id, queued = queue_pushed_import(context.instance(), catalog, source_id)
    return {"status": "queued" if queued else "already queued", "run_id": run_id, "source_id": source_id}
