"""Validation of an export target's settings (see `model.ExportTarget`): one set of messages for the CLI and the API.

Credentials (AWS keys) are secrets: they are encrypted at rest by the catalog and only their names ever leave this
process. The format names are declared here, so that the catalog validates a target without the writers of
`export/formats.py` (a test keeps the two the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput
from .model import ASSET_TYPES, parse_s3_url
from .model.export_targets import DEFAULT_EVERY_SECONDS
from .schedule import schedule_values
from .user_input import one_of

FORMATS = ("ndjson", "json", "csv", "parquet", "mrss", "backstage-json")
OPTIONS = ("endpoint_url", "region", "role_arn", "role_external_id", "title")
CREDENTIALS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass
class ExportTargetChanges:
    """Settings given by a user; None means "not given" (keep the current value on edit, default on add)."""

    url: str | None = None
    format: str | None = None
    every: str | None = None
    cron: str | None = None
    source_id: str | None = None
    asset_type: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)


def check_endpoint(endpoint_url: str, allow_hosts: tuple[str, ...], *, resolve: bool) -> None:
    """A customer's S3 endpoint is an untrusted URL: http(s), and no private or loopback address unless allowed."""
    # Imported here: the network client (httpx and its transports) costs `exports list`, which checks no URL, more
    # than the listing itself.
    from .net import FetchError, FetchPolicy, check_url

    try:
        check_url(endpoint_url, FetchPolicy(allow_hosts=allow_hosts), resolve=resolve)
    except FetchError as exc:
        raise InvalidInput(f"invalid --option endpoint_url={endpoint_url!r}: {exc}") from None


def validate_options(options: dict[str, str], allow_hosts: tuple[str, ...]) -> dict[str, str]:
    """Known option names with acceptable values; empty values are kept (they remove the option on edit)."""
    for name, value in options.items():
        one_of(name, OPTIONS, "export option")
        if not value:
            continue
        if name == "endpoint_url":
            check_endpoint(value, allow_hosts, resolve=False)
        elif name == "region" and not _REGION.match(value):
            raise InvalidInput(f"invalid --option region={value!r}: use an AWS region name like eu-west-1")
        elif name == "role_arn" and not _ROLE_ARN.match(value):
            raise InvalidInput(
                f"invalid --option role_arn={value!r}: use an IAM role ARN like arn:aws:iam::123456789012:role/Export"
            )
    return options


def validate_credentials(credentials: dict[str, str]) -> dict[str, str]:
    """Known credential names only (their values are checked together, by `check_access`)."""
    for name in credentials:
        one_of(name, CREDENTIALS, "export credential")
    return credentials


def check_access(
    service: str,
    url: str,
    options: dict[str, str],
    credentials: dict[str, str],
    *,
    platform_buckets: tuple[str, ...] = (),
) -> None:
    """The complete settings of a target agree: keys come in pairs, a foreign endpoint needs foreign keys, and
    what the platform's own keys write stays under the service's own prefix."""
    has_id, has_secret = bool(credentials.get("aws_access_key_id")), bool(credentials.get("aws_secret_access_key"))
    if has_id != has_secret:
        raise InvalidInput(
            "give both --credential aws_access_key_id=… and --credential aws_secret_access_key=…, or neither"
        )
    if credentials.get("aws_session_token") and not has_id:
        raise InvalidInput("--credential aws_session_token needs aws_access_key_id and aws_secret_access_key")
    if options.get("endpoint_url") and not (has_id or options.get("role_arn")):
        # The platform's own keys are only ever sent to the platform's own S3.
        raise InvalidInput(
            "--option endpoint_url needs the bucket's own credentials (--credential aws_access_key_id=… "
            "--credential aws_secret_access_key=…) or --option role_arn=…"
        )
    if options.get("role_external_id") and not has_id:
        # With the platform's keys the external id is the platform's to give (see `platform_external_id`): a
        # tenant naming another tenant's role must not be able to name that tenant's external id too.
        raise InvalidInput(
            "--option role_external_id goes with the bucket's own keys; a role assumed with the platform's keys"
            f" is asked for with the external id {platform_external_id(service)!r}: require that one in its trust"
            " policy"
        )
    if not (has_id or options.get("role_arn")):
        bucket, prefix = parse_s3_url(url)
        if platform_buckets and bucket not in platform_buckets:
            raise InvalidInput(
                f"bucket {bucket!r} is not one of the platform's export buckets ({', '.join(platform_buckets)}):"
                " use one of them, or give the bucket's own credentials or a role"
            )
        if prefix != service and not prefix.startswith(f"{service}/"):
            # One tenant must never write where another tenant's exports (or anything else) live.
            raise InvalidInput(
                f"exports written with the platform's own AWS settings go under the service's prefix: use"
                f" s3://BUCKET/{service}/… (or give the bucket's own credentials or a role)"
            )


def platform_external_id(service: str) -> str:
    """The STS external id the platform's keys present when they assume a customer's role for `service`."""
    return f"data-agent:{service}"


def validate_changes(changes: ExportTargetChanges, *, creating: bool, allow_hosts: tuple[str, ...]) -> dict[str, Any]:
    """Turn user input into catalog column values; on add, --url and --format are required."""
    values: dict[str, Any] = {}
    if creating:
        for flag, given in (("--url", changes.url), ("--format", changes.format)):
            if not given:
                raise InvalidInput(f"{flag} is required to add an export target")
    if changes.url is not None:
        bucket, prefix = parse_s3_url(changes.url)
        values["url"] = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    if changes.format is not None:
        values["format"] = one_of(changes.format, FORMATS, "export format")
    values.update(schedule_values(changes.every, changes.cron, creating=creating, default_every=DEFAULT_EVERY_SECONDS))
    if changes.source_id is not None:
        values["source_id"] = changes.source_id or None
    if changes.asset_type is not None:
        values["asset_type"] = one_of(changes.asset_type, ASSET_TYPES, "asset type") if changes.asset_type else None
    validate_options(changes.options, allow_hosts)
    validate_credentials(changes.credentials)
    return values
