"""Authentication: `Authorization: Bearer KEY`, one service per key.

A key answers only for its own service: any other service, and anything in it, is "not found" (404), so a key
learns nothing about what other tenants have. No key, or an unknown or revoked one, is 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ..errors import NotFound
from .context import ApiContext, api_context
from .errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="An API key of the service (`data-agent services add-key`).")


async def authorized_service(
    request: Request,
    service: Annotated[str, Path(max_length=100, description="The service (tenant) name.")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    context: Annotated[ApiContext, Depends(api_context)],
) -> str:
    """The path's service, when the request's key belongs to it."""
    if credentials is None:
        raise Unauthorized("send an API key of the service as `Authorization: Bearer KEY`")
    key = credentials.credentials
    owner = await run_in_threadpool(context.service_of_key, key)
    if owner is None:
        raise Unauthorized("the API key is unknown or has been revoked")
    if owner != service:
        raise NotFound(f"no service named {service!r}")
    return service


Service = Annotated[str, Depends(authorized_service)]
Context = Annotated[ApiContext, Depends(api_context)]
