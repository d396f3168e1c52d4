"""Source credentials are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

`DATA_AGENT_SECRET_KEY` holds one key, or several separated by commas to rotate: the first encrypts, any of
them decrypts. Without it a key is generated into `$DATA_AGENT_HOME/secret.key` (mode 0600) for local use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import CredentialsError
from ..settings import Settings


class CredentialCipher:
    """Encrypts a source's credentials (a str -> str mapping) into one opaque token and back."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise CredentialsError("no encryption key configured for source credentials")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError:
            raise CredentialsError(
                "DATA_AGENT_SECRET_KEY is not a valid key: it must be 32 url-safe base64-encoded bytes (generate one"
                " with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None

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


def _local_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
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
