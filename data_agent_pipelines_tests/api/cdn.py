"""What each CDN checks before it serves a signed URL, written from the CDN's own documentation.

These verifiers share no code with `data_agent_pipelines.signing`: they recompute every signature from its
specification, so a signer that drifts from the spec fails the tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class Refused(Exception):
    """The CDN would answer 403."""


def _split(url: str, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The URL without the signing parameters (as it was before signing), and those parameters."""
    base, _, query = url.partition("?")
    kept, signing = [], {}
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        if name in names:
            signing[name] = value
        else:
            kept.append(pair)
    return (f"{base}?{'&'.join(kept)}" if kept else base), signing


def verify_cloudfront(url: str, public_key: rsa.RSAPublicKey, key_pair_id: str, now: int) -> str:
    """CloudFront, canned policy (Developer Guide, "Create a signed URL using a canned policy").

    The policy is the compact JSON `{"Statement":[{"Resource":URL,"Condition":{"DateLessThan":{"AWS:EpochTime":E}}}]}`
    over the URL without the signing parameters; `Signature` is its RSA-SHA1 signature in base64 with '+' -> '-',
    '=' -> '_', '/' -> '~'. Returns the resource URL.
    """
    resource, params = _split(url, ("Expires", "Signature", "Key-Pair-Id"))
    if set(params) != {"Expires", "Signature", "Key-Pair-Id"}:
        raise Refused(f"missing signing parameters: {sorted(params)}")
    if params["Key-Pair-Id"] != key_pair_id:
        raise Refused("unknown key pair")
    expires = int(params["Expires"])
    policy = (
        '{"Statement":[{"Resource":"'
        + resource
        + '","Condition":{"DateLessThan":{"AWS:EpochTime":'
        + str(expires)
        + "}}}]}"
    )
    json.loads(policy)  # the policy CloudFront rebuilds is valid JSON
    signature = base64.b64decode(params["Signature"].replace("-", "+").replace("_", "=").replace("~", "/"))
    try:
        public_key.verify(signature, policy.encode(), padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        raise Refused("bad signature") from None
    if now >= expires:
        raise Refused("expired")
    return resource


def verify_akamai(url: str, key_hex: str, now: int, token_name: str = "hdnts") -> dict[str, str]:
    """Akamai EdgeAuth token 2.0: `exp=E~acl=A~hmac=H`, H = hex HMAC-SHA256 keyed by the hex-decoded key over the
    fields before `~hmac=`; the request path must match the ACL (`*` wildcard; several ACLs joined by '!')."""
    resource, params = _split(url, (token_name,))
    if token_name not in params:
        raise Refused("no token")
    token = params[token_name]
    signed, sep, given = token.rpartition("~hmac=")
    if not sep:
        raise Refused("token without hmac")
    expected = hmac.new(bytes.fromhex(key_hex), signed.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise Refused("bad hmac")
    fields = dict(field.split("=", 1) for field in signed.split("~"))
    if now >= int(fields["exp"]):
        raise Refused("expired")
    path = urlsplit(resource).path
    if not any(fnmatchcase(path, acl) for acl in fields["acl"].split("!")):
        raise Refused(f"path {path} outside the ACL {fields['acl']}")
    return fields


def verify_nginx(url: str, secret: str, now: int) -> str:
    """nginx `secure_link $arg_md5,$arg_expires; secure_link_md5 "$secure_link_expires$uri <secret>";`

    nginx compares `md5` with the base64url (no padding) MD5 of the expression and refuses an `expires` in the
    past. Returns the `$uri` that was checked.
    """
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    uri = unquote(parts.path)
    expected = base64.urlsafe_b64encode(
        hashlib.md5(f"{params.get('expires', '')}{uri} {secret}".encode()).digest()
    ).rstrip(b"=")
    if params.get("md5", "").encode() != expected:
        raise Refused("bad md5")
    if now > int(params["expires"]):  # nginx: expired when `expires` < the current time
        raise Refused("expired")
    return uri
