"""Writing objects to S3 safely: streamed, multipart when large, checksummed, and never half-visible.

An object is written through `S3ObjectWriter`, a binary file-like object. Bytes are buffered up to one part;
while the object is smaller than a part it goes out as a single `PutObject`, otherwise as a multipart upload
whose parts leave as they fill, so memory holds one part however large the object grows. Every request carries
its SHA-256 (`ChecksumSHA256`), which S3 verifies on receipt; the SHA-256 of the whole object is computed on the
way and returned. A failure aborts the multipart upload, so no parts are left behind to be billed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

# S3 needs parts of at least 5 MiB (but the last); 8 MiB keeps a 100,000-asset export to a few parts.
DEFAULT_PART_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class WrittenObject:
    """An object as written: where, how large, and the hex SHA-256 of its bytes."""

    key: str
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "bytes": self.bytes, "sha256": self.sha256}


class S3WriteError(Exception):
    """Writing to S3 failed; the message says what to check (bucket, credentials, endpoint)."""


def _b64_sha256(data: bytes | memoryview) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class S3ObjectWriter:
    """A write-only binary file that becomes the object `key` of `bucket` when closed without error."""

    def __init__(
        self, client: Any, bucket: str, key: str, *, content_type: str, part_size: int = DEFAULT_PART_SIZE
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.content_type = content_type
        self.part_size = part_size
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.closed = False
        self.written: WrittenObject | None = None

    # -- the file-like face (what csv, json and pyarrow writers need) ---------------------------------------------

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        """Parts leave when they are full; flushing sends nothing early (S3 parts have a minimum size)."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed S3 object")
        view = memoryview(data).cast("B")
        self._digest.update(view)
        self._size += len(view)
        self._buffer += view
        while len(self._buffer) >= self.part_size:
            self._send_part(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]
        return len(view)

    # -- completion -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the object: one PutObject if it fits one part, else the last part and CompleteMultipartUpload."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._upload_id is None:
                body = bytes(self._buffer)
                _call(
                    self.client.put_object,
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=body,
                    ContentType=self.content_type,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=_b64_sha256(body),
                )
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                _call(
                    self.client.complete_multipart_upload,
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except BaseException:
            self.abort()
            raise
        self._buffer = bytearray()
        self.written = WrittenObject(self.key, self._size, self._digest.hexdigest())

    def abort(self) -> None:
        """Drop what was sent: abort the multipart upload (best effort: the endpoint may be gone)."""
        self.closed = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            # Best effort: when the endpoint is gone, a bucket lifecycle rule (AbortIncompleteMultipartUpload) is
            # the backstop.
            with contextlib.suppress(BotoCoreError, ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)

    def __enter__(self) -> S3ObjectWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _send_part(self, body: bytes) -> None:
        if self._upload_id is None:
            created = _call(
                self.client.create_multipart_upload,
                Bucket=self.bucket,
                Key=self.key,
                ContentType=self.content_type,
                ChecksumAlgorithm="SHA256",
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        checksum = _b64_sha256(body)
        sent = _call(
            self.client.upload_part,
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": checksum})


def put_bytes(client: Any, bucket: str, key: str, body: bytes, *, content_type: str) -> WrittenObject:
    """Write a small object in one checksummed request."""
    with S3ObjectWriter(client, bucket, key, content_type=content_type) as writer:
        writer.write(body)
    assert writer.written is not None
    return writer.written


def _call(method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise S3WriteError(describe_s3_error(exc, kwargs.get("Bucket", ""))) from exc


def describe_s3_error(exc: BaseException, bucket: str) -> str:
    """A message an operator or customer can act on, without credentials or request signatures in it."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return f"bucket {bucket!r} does not exist: create it or correct the export URL"
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
            return (
                f"S3 refused the credentials for bucket {bucket!r} ({code}): check the target's "
                "aws_access_key_id and aws_secret_access_key"
            )
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            return (
                f"S3 denied access to bucket {bucket!r} ({code or status}): the credentials or role need "
                "s3:PutObject and s3:AbortMultipartUpload on it"
            )
        if code == "PermanentRedirect" or code == "AuthorizationHeaderMalformed":
            return f"bucket {bucket!r} is in another region ({code}): set --option region=… on the target"
        message = str(error.get("Message") or "").strip()
        return f"S3 error on bucket {bucket!r}: {code or status}{': ' + message if message else ''}"
    if isinstance(exc, EndpointConnectionError):
        return f"could not connect to the S3 endpoint {exc.kwargs.get('endpoint_url', '')}: check endpoint_url"
    return f"S3 request for bucket {bucket!r} failed: {exc}"
