"""Stream signing: playable URLs for a source whose CDN only serves signed requests.

A source names its scheme (`sign_streams`), keeps the secrets among its encrypted credentials and the rest among
its options. The asset's own source decides, so two sources of one service can behave differently.

- `cloudfront`: a CloudFront signed URL with a canned policy (`Expires`, `Signature`, `Key-Pair-Id`), made by
  botocore's `CloudFrontSigner` with the source's RSA key (`key_pair_id`, `private_key`).
- `akamai`: an Akamai EdgeAuth 2.0 token (`exp=…~acl=…~hmac=…`, HMAC-SHA256 keyed by the hex `key`) in the query
  parameter `token_name` (default `hdnts`); the ACL is `/*` unless `--option acl` says otherwise (`path`: the
  stream's own path).
- `nginx-secure-link`: nginx `secure_link_md5 "$secure_link_expires$uri <secret>"`: `md5` (base64url of the MD5,
  no padding) and `expires` as query parameters.

Links expire `ttl` seconds (`--option ttl`, default 3600) after they are made, rounded up to a step of ttl/10 (at
most a minute) so that everyone asking within the step gets the same link (see `link_expiry`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from .errors import InvalidInput
from .model import Source, isoformat

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# botocore and cryptography are imported where a CloudFront key is used: the CLI reads MAX_TTL_SECONDS and the
# sources' settings check the scheme names on every start, and those imports cost a quarter of a second.

SCHEMES = ("cloudfront", "akamai", "nginx-secure-link")
# The options of a source that signing reads (its secrets are credentials).
SIGNING_OPTIONS = ("ttl", "token_name", "acl")
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 7 * 86400
# Expiries are rounded up to a step of ttl/10, at most a minute, so that a link is the same for everyone who asks
# within the step: its signature is computed once, and CDNs and players cache one URL instead of one per request.
MAX_EXPIRY_STEP_SECONDS = 60
SIGNATURE_CACHE_SIZE = 20_000
DEFAULT_AKAMAI_TOKEN_NAME = "hdnts"  # noqa: S105 - a query parameter name, not a secret
DEFAULT_AKAMAI_ACL = "/*"
# The ACL value that means "the stream's own path" rather than a fixed pattern (a pattern starts with '/').
AKAMAI_ACL_PATH = "path"
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


class StreamSigner(Protocol):
    """Turns a stream URL into one the CDN will serve until `expires` (Unix seconds)."""

    scheme: str | None

    def sign(self, url: str, expires: int) -> str: ...


def _path(url: str) -> str:
    """The path of a stream URL; one urlsplit refuses (an unclosed IPv6 bracket) still has one after its host."""
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        after_host = url.partition("://")[2].partition("/")[2]
        return "/" + after_host.partition("?")[0].partition("#")[0]


def _with_query(url: str, query: str) -> str:
    base, _, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}{query}"
    return f"{joined}#{fragment}" if fragment else joined


class PlainLinks:
    """A source without signing: URLs go out as they are."""

    scheme = None

    def sign(self, url: str, expires: int) -> str:
        return url


class CloudFrontLinks:
    """CloudFront signed URLs with a canned policy, through botocore's signer (RSA-SHA1, as CloudFront requires)."""

    scheme = "cloudfront"

    def __init__(self, key_pair_id: str, private_key: rsa.RSAPrivateKey):
        from botocore.signers import CloudFrontSigner

        self._signer = CloudFrontSigner(key_pair_id, self._rsa_sign)
        self._key = private_key
        # An RSA signature costs about a millisecond; with expiries rounded (see `link_expiry`) the same URL is
        # asked for again and again within a window, and its signature is reused.
        self._signed = lru_cache(maxsize=SIGNATURE_CACHE_SIZE)(self._sign)

    def _rsa_sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm

    def sign(self, url: str, expires: int) -> str:
        return self._signed(url, expires)

    def _sign(self, url: str, expires: int) -> str:
        # The signature's query must come before a fragment, which the browser never sends.
        address, hash_mark, fragment = url.partition("#")
        signed = self._signer.generate_presigned_url(address, date_less_than=datetime.fromtimestamp(expires, UTC))
        return signed + hash_mark + fragment


@dataclass(frozen=True)
class AkamaiLinks:
    """Akamai EdgeAuth token 2.0 with an ACL: `exp=E~acl=A~hmac=HMAC-SHA256(key, "exp=E~acl=A")`."""

    key: bytes
    token_name: str = DEFAULT_AKAMAI_TOKEN_NAME
    acl: str = DEFAULT_AKAMAI_ACL
    scheme = "akamai"

    def token(self, acl: str, expires: int) -> str:
        """The token for one ACL (fields joined by '~', as Akamai's EdgeAuth libraries make it)."""
        fields = f"exp={expires}~acl={acl}"
        digest = hmac.new(self.key, fields.encode(), hashlib.sha256).hexdigest()
        return f"{fields}~hmac={digest}"

    def sign(self, url: str, expires: int) -> str:
        acl = _path(url) if self.acl == AKAMAI_ACL_PATH else self.acl
        # Akamai's own examples append the token unescaped: the edge reads the value up to the next '&'.
        return _with_query(url, f"{self.token_name}={self.token(acl, expires)}")


@dataclass(frozen=True)
class NginxSecureLinks:
    """nginx secure_link: `md5` = base64url(MD5("{expires}{uri} {secret}")) without padding, and `expires`."""

    secret: str
    scheme = "nginx-secure-link"

    def sign(self, url: str, expires: int) -> str:
        # nginx hashes `$uri`: the path, percent-decoded, without the query string.
        uri = unquote(_path(url))
        digest = hashlib.md5(f"{expires}{uri} {self.secret}".encode()).digest()  # noqa: S324 - nginx's algorithm
        token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return _with_query(url, f"md5={token}&expires={expires}")


# -- validation -------------------------------------------------------------------------------------------------


def parse_ttl(value: str | int | None) -> int:
    """A link lifetime in whole seconds, 1 s to 7 days; None means the default (3600)."""
    if value is None or value == "":
        return DEFAULT_TTL_SECONDS
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = 0
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise InvalidInput(f"invalid --option ttl={value!r}: use a whole number of seconds from 1 to {MAX_TTL_SECONDS}")
    return seconds


def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    # A PEM given on one line with literal "\n" (as JSON or a shell variable often carries it) is still a PEM.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    text = pem.replace("\\n", "\n") if "\n" not in pem else pem
    try:
        key = serialization.load_pem_private_key(text.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        reason = "it is encrypted: give the key without a passphrase" if "password" in str(exc).lower() else ""
        raise InvalidInput(
            "invalid --credential private_key: it is not a PEM private key"
            f"{' (' + reason + ')' if reason else ''}; give the CloudFront key pair's private key,"
            " starting with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInput("invalid --credential private_key: CloudFront signs with RSA keys; this key is not RSA")
    return key


def _needs(scheme: str, credentials: Mapping[str, str], needed: dict[str, str]) -> None:
    missing = [f"--credential {name}=… ({what})" for name, what in needed.items() if not credentials.get(name)]
    if missing:
        raise InvalidInput(f"signing streams with {scheme} needs {', '.join(missing)}")


def build_signer(scheme: str | None, credentials: Mapping[str, str], options: Mapping[str, str]) -> StreamSigner:
    """The signer of a scheme from a source's credentials and options; InvalidInput names what is wrong."""
    parse_ttl(options.get("ttl"))
    if scheme is None:
        return PlainLinks()
    if scheme == "cloudfront":
        _needs(
            scheme,
            credentials,
            {"key_pair_id": "the CloudFront public key ID", "private_key": "its PEM RSA private key"},
        )
        return CloudFrontLinks(credentials["key_pair_id"], _load_private_key(credentials["private_key"]))
    if scheme == "akamai":
        _needs(scheme, credentials, {"key": "the EdgeAuth token key, in hex"})
        if not _HEX.match(credentials["key"]):
            raise InvalidInput(
                "invalid --credential key for akamai: the EdgeAuth key is a hexadecimal string of even length,"
                " as Akamai's property manager shows it"
            )
        token_name = options.get("token_name") or DEFAULT_AKAMAI_TOKEN_NAME
        if not _TOKEN_NAME.match(token_name):
            raise InvalidInput(
                f"invalid --option token_name={token_name!r}: use letters, digits, '_' or '-', like hdnts"
            )
        acl = options.get("acl") or DEFAULT_AKAMAI_ACL
        if acl != AKAMAI_ACL_PATH and (not acl.startswith("/") or any(c.isspace() or c in "~&#" for c in acl)):
            raise InvalidInput(
                f"invalid --option acl={acl!r}: give a path pattern starting with '/' (like /* or /vod/*),"
                f" or {AKAMAI_ACL_PATH} to sign each stream's own path"
            )
        return AkamaiLinks(binascii.a2b_hex(credentials["key"]), token_name, acl)
    if scheme == "nginx-secure-link":
        _needs(scheme, credentials, {"secret": "the secret of the secure_link_md5 expression"})
        return NginxSecureLinks(credentials["secret"])
    raise InvalidInput(f"unknown signing scheme {scheme!r}: use one of {', '.join(SCHEMES)}")


def validate_signing(scheme: str | None, credentials: Mapping[str, str], options: Mapping[str, str]) -> None:
    """Raise InvalidInput unless a source with these settings can sign its streams."""
    build_signer(scheme, credentials, options)


@lru_cache(maxsize=1024)
def _cached_signer(
    scheme: str | None, credentials: tuple[tuple[str, str], ...], options: tuple[tuple[str, str], ...]
) -> StreamSigner:
    return build_signer(scheme, dict(credentials), dict(options))


def signer_for(source: Source | None) -> StreamSigner:
    """The signer of an asset's source (plain links for an asset without one).

    Loading an RSA key costs milliseconds: signers are kept per distinct setting, so a changed key is picked up
    at once and an unchanged one is loaded once per process.
    """
    if source is None or source.sign_streams is None:
        return PlainLinks()
    relevant = ("ttl", "token_name", "acl")
    return _cached_signer(
        source.sign_streams,
        tuple(sorted(source.credentials.items())),
        tuple(sorted((k, v) for k, v in source.options.items() if k in relevant)),
    )


# -- playback ---------------------------------------------------------------------------------------------------


def link_expiry(now: datetime, ttl: int) -> int:
    """When links made at `now` expire: `now + ttl` rounded up to a step of ttl/10 (1 s to 60 s).

    A link therefore lives at least `ttl` and at most 10% (and at most a minute) longer.
    """
    step = max(1, min(MAX_EXPIRY_STEP_SECONDS, ttl // 10))
    return -(-(int(now.timestamp()) + ttl) // step) * step


def playback(asset: Mapping[str, Any], source: Source | None, *, now: datetime, ttl: int | None = None) -> dict:
    """The asset's editions with playable URLs: signed when its source says so, as they are otherwise.

    Streams and subtitles are both signed: a protected CDN refuses unsigned subtitle requests as well.
    `ttl` overrides the source's `--option ttl` for these links.
    """
    signer = signer_for(source)
    if ttl is None:
        ttl = parse_ttl(source.options.get("ttl") if source is not None else None)
    expires = link_expiry(now, ttl)
    editions = [
        {
            **edition,
            "streams": [{**s, "url": signer.sign(s["url"], expires)} for s in edition.get("streams", ())],
            "subtitles": [{**s, "url": signer.sign(s["url"], expires)} for s in edition.get("subtitles", ())],
        }
        for edition in asset.get("editions") or ()
    ]
    signed = signer.scheme is not None
    return {
        "asset_id": asset["id"],
        "source_id": asset.get("source_id"),
        "signed": signed,
        "scheme": signer.scheme,
        "expires_at": isoformat(datetime.fromtimestamp(expires, UTC).replace(microsecond=0)) if signed else None,
        "ttl": ttl if signed else None,
        "editions": editions,
    }
