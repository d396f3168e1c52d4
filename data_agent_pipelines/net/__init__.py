"""The one HTTP client of the project: every request to a customer-supplied URL goes through here.

Customer URLs are hostile, and so are the answers to them. This package therefore:

- fetches only http and https URLs, and refuses any host with an address that is not public (loopback, private,
  link-local, multicast, reserved, unspecified, shared, cloud metadata, or an IPv4 address of that kind embedded in
  an IPv6 transition form) unless `FetchPolicy.allow_hosts` exempts it;
- downloads a `file://` URL only when it is a regular file inside `FetchPolicy.feed_folder` (the operator's local
  feed folder), reached without `..` or symbolic links, within the same size limit;
- follows redirects itself, checking every hop like the first;
- bounds the body (announced and decoded size) and the whole fetch (one total deadline over retries, redirects and
  body reading);
- retries connection errors, 429 and 5xx with jittered exponential backoff, honouring Retry-After;
- raises only `FetchError` subclasses, whose messages name the host (never userinfo or query strings) and say what
  the customer can do.

One module per concern:

- `errors`: the `FetchError` family and its customer-facing wording, `safe_url`;
- `policy`: `FetchPolicy` and the check of a URL and its addresses (`check_url`, `system_resolver`), and of a
  local file (`local_file`);
- `transport`: the httpcore backend that connects only to the checked addresses (how pinning works is told there);
- `body`: reading an answer within the size limit and the total deadline, with bounded decoding;
- `files`: reading an allowed local file like a body;
- `client`: `HttpClient` (attempts, retries, redirects, Retry-After) and its results `Response` and `Download`;
  `parse_retry_after`, the one reading of a Retry-After header (the OVP rate limiter reads it too).

The rest of the project imports from this package only, never from its modules.
"""

from .client import Download, HttpClient, Response, parse_retry_after
from .errors import (
    AuthRejected,
    BadResponse,
    ConnectFailed,
    DeadlineExceeded,
    FetchError,
    HostNotFound,
    HTTPStatusError,
    RedirectError,
    TooLarge,
    UnsafeURL,
    safe_url,
)
from .policy import FetchPolicy, Resolver, check_url, is_file_url, system_resolver

__all__ = [
    "AuthRejected",
    "BadResponse",
    "ConnectFailed",
    "DeadlineExceeded",
    "Download",
    "FetchError",
    "FetchPolicy",
    "HTTPStatusError",
    "HostNotFound",
    "HttpClient",
    "RedirectError",
    "Resolver",
    "Response",
    "TooLarge",
    "UnsafeURL",
    "check_url",
    "is_file_url",
    "parse_retry_after",
    "safe_url",
    "system_resolver",
]
