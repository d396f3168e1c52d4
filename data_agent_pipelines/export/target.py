"""Export targets: where a service's catalog goes (an S3 location), in which format, how often.

Validation lives here, one set of messages for the CLI and the API. Credentials (AWS keys) are secrets: they are
encrypted at rest by the catalog and only their names ever leave this process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from ..model import ASSET_TYPES, REDACTED, isoformat
from ..net import FetchError, FetchPolicy, check_url
from ..schedule import format_duration, schedule_values
from ..source_settings import one_of
from .formats import FORMATS as WRITERS

FORMATS = tuple(WRITERS)
DEFAULT_EVERY_SECONDS = 86400
OPTIONS = ("endpoint_url", "region", "role_arn", "role_external_id", "title")
CREDENTIALS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# S3 bucket naming rules (3-63 characters, lower case, digits, dots and hyphens, starting and ending alphanumeric).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass
class ExportTarget:
    """An export target row with its credentials decrypted (in memory only: never print or log `credentials`)."""

    id: str
    service: str
    url: str
    format: str
    every_seconds: int | None = DEFAULT_EVERY_SECONDS
    cron: str | None = None
    source_id: str | None = None
    asset_type: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None

    @property
    def bucket(self) -> str:
        return parse_s3_url(self.url)[0]

    @property
    def prefix(self) -> str:
        return parse_s3_url(self.url)[1]

    @property
    def uses_own_credentials(self) -> bool:
        """True when the bucket is reached with the customer's keys or role, not the platform's settings."""
        return bool(self.credentials or self.options.get("role_arn"))


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


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix/` -> ("bucket", "some/prefix"); InvalidInput for anything else."""
    text = (url or "").strip()
    if not text.startswith("s3://"):
        raise InvalidInput(f"invalid export URL {url!r}: use s3://BUCKET/PREFIX")
    bucket, _, prefix = text[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidInput(
            f"invalid bucket name {bucket!r} in {url!r}: use 3-63 lower-case letters, digits, '.' or '-',"
            " starting and ending with a letter or digit"
        )
    prefix = prefix.strip("/")
    if any(ch.isspace() or ord(ch) < 32 for ch in prefix) or "//" in prefix:
        raise InvalidInput(f"invalid prefix {prefix!r} in {url!r}: no white space or empty path segments")
    return bucket, prefix


def check_endpoint(endpoint_url: str, allow_hosts: tuple[str, ...], *, resolve: bool) -> None:
    """A customer's S3 endpoint is an untrusted URL: http(s), and no private or loopback address unless allowed."""
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


def target_to_json(target: ExportTarget) -> dict[str, Any]:
    """The JSON form of a target; credential values are never included, only their names."""
    return {
        "id": target.id,
        "service": target.service,
        "url": target.url,
        "format": target.format,
        "every": format_duration(target.every_seconds) if target.every_seconds else None,
        "cron": target.cron,
        "source_id": target.source_id,
        "asset_type": target.asset_type,
        "options": dict(target.options),
        "credentials": dict.fromkeys(sorted(target.credentials), REDACTED),
        "enabled": target.enabled,
        "created_at": isoformat(target.created_at),
        "updated_at": isoformat(target.updated_at),
        "last_run_at": isoformat(target.last_run_at),
        "next_run_at": isoformat(target.next_run_at),
        "last_status": target.last_status,
        "last_error": target.last_error,
    }
