"""An export target: where a service's catalog goes (an S3 location), in which format, how often."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import InvalidInput

DEFAULT_EVERY_SECONDS = 86400
# S3 bucket naming rules (3-63 characters, lower case, digits, dots and hyphens, starting and ending alphanumeric).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


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
        """The bucket of the target's URL."""
        return parse_s3_url(self.url)[0]

    @property
    def prefix(self) -> str:
        """The key prefix of the target's URL, without slashes at either end."""
        return parse_s3_url(self.url)[1]

    @property
    def uses_own_credentials(self) -> bool:
        """True when the bucket is reached with the customer's keys or role, not the platform's settings."""
        return bool(self.credentials or self.options.get("role_arn"))


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
