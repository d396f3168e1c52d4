"""Source credentials are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

`DATA_AGENT_SECRET_KEY` holds one key, or several separated by commas to rotate: the first encrypts, any of
them decrypts. Without it a key is generated into `$DATA_AGENT_HOME/secret.key` (mode 0600) for local use.
"""

from __future__ import annotations

import base64
import json
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CredentialsError
from ..settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

# A Fernet key: 32 bytes, url-safe base64-encoded.
KEY_BYTES = 32


class CredentialCipher:
    """Encrypts a source's credentials (a str -> str mapping) into one opaque token and back."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise CredentialsError("no encryption key configured for source credentials")
        try:
            self._keys = [_checked_key(key) for key in keys]
        except ValueError:
            raise CredentialsError(
                "DATA_AGENT_SECRET_KEY is not a valid key: it must be 32 url-safe base64-encoded bytes (generate one"
                " with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None

    @cached_property
    def _fernet(self) -> MultiFernet:
        # Made on first use: most commands that open the catalog never encrypt or decrypt, and importing
        # `cryptography` would cost each of them a few hundredths of a second.
        from cryptography.fernet import Fernet, MultiFernet

        return MultiFernet([Fernet(key) for key in self._keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialCipher:
        """The configured key(s), or the local key file, created on first use."""
        if settings.secret_key:
            return cls(settings.secret_key.split(","))
        return cls([_local_key(settings.secret_key_file)])

    def encrypt(self, credentials: dict[str, str]) -> str | None:
        if not credentials:
            return None
        plain = json.dumps(credentials, sort_keys=True).encode()
        return self._fernet.encrypt(plain).decode()

    def decrypt(self, token: str | None) -> dict[str, str]:
        if not token:
            return {}
        from cryptography.fernet import InvalidToken

        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise CredentialsError(
                "stored credentials cannot be decrypted: DATA_AGENT_SECRET_KEY is not the key they were encrypted"
                " with (set the old key after the new one, comma-separated, to rotate)"
            ) from None

    def encrypt_secret(self, secret: str) -> str:
        """One secret (a webhook's signing secret, a source's hook secret) as a token, encrypted as credentials
        are: stored so because checking a signature needs the secret itself, not a hash of it."""
        token = self.encrypt({"secret": secret})
        assert token is not None  # a non-empty mapping always encrypts to a token
        return token

    def decrypt_secret(self, token: str) -> str | None:
        """The secret `encrypt_secret` made `token` of; None when the token holds none."""
        return self.decrypt(token).get("secret") or None


def _checked_key(key: str) -> bytes:
    """`key` as Fernet takes it; ValueError unless it is a Fernet key. This is Fernet's own check (the same decoding,
    the same length), made without importing `cryptography`, so that a bad key is still refused when the catalog
    opens."""
    encoded = key.strip().encode()
    if len(base64.urlsafe_b64decode(encoded)) != KEY_BYTES:
        raise ValueError("not a Fernet key")
    return encoded


def _local_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()  # what Fernet.generate_key() returns
    # Write aside, then link into place: two processes starting at once agree on one key, and no reader ever
    # sees a half-written file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(temporary, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        temporary.unlink()
    return key
