"""The credential cipher checks its keys itself (so that opening a catalog need not import `cryptography`): it must
refuse exactly the keys Fernet refuses, and encrypt, decrypt and rotate as Fernet does."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from data_agent_pipelines.catalog.crypto import CredentialCipher
from data_agent_pipelines.errors import CredentialsError
from data_agent_pipelines.settings import Settings

# Fixed keys, not generated: pytest-xdist workers must collect the same parameters (GOOD holds "-" and "_", so
# its standard-alphabet spelling differs from it).
GOOD = "7rm0H30pgY8VMkhfj_iJa1CoPrfhx-KN4Z0HuEeT3ic="
OTHER = "COYfEcuAqQ7Xrp33sh4HERi7vcNSFGJ6h4yylyUCrIg="

KEYS = [
    GOOD,
    f"  {GOOD}\n",  # surrounding whitespace is stripped, as ever
    GOOD.rstrip("="),  # padding missing
    GOOD.replace("-", "+").replace("_", "/"),  # the standard alphabet instead of the url-safe one
    base64.urlsafe_b64encode(b"k" * 31).decode(),
    base64.urlsafe_b64encode(b"k" * 33).decode(),
    base64.urlsafe_b64encode(b"\xff" * 32).decode(),
    base64.b64encode(b"\xfb\xff" * 16).decode(),  # '+' and '/' in it: not url-safe
    GOOD[:-2] + "!=",
    GOOD[:10] + " " + GOOD[10:],
    GOOD[:10] + "é" + GOOD[10:],
    GOOD + GOOD,
    "",
    "   ",
    "=",
    "not a key",
    "\x00" * 44,
]


def fernet_accepts(key: str) -> bool:
    try:
        Fernet(key.strip().encode())
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("key", KEYS)
def test_a_key_is_refused_exactly_when_fernet_refuses_it(key: str) -> None:
    if fernet_accepts(key):
        cipher = CredentialCipher([key])
        token = cipher.encrypt({"user": "u", "password": "p"})
        assert Fernet(key.strip().encode()).decrypt(token.encode()) == b'{"password": "p", "user": "u"}'
    else:
        with pytest.raises(CredentialsError, match="not a valid key"):
            CredentialCipher([key])


def test_every_key_of_a_rotation_is_checked() -> None:
    with pytest.raises(CredentialsError, match="not a valid key"):
        CredentialCipher([GOOD, "not a key"])
    with pytest.raises(CredentialsError, match="no encryption key"):
        CredentialCipher([])


def test_the_first_key_encrypts_and_any_key_decrypts() -> None:
    old = CredentialCipher([OTHER])
    token = old.encrypt({"token": "t0k"})
    rotated = CredentialCipher([GOOD, OTHER])
    assert rotated.decrypt(token) == {"token": "t0k"}
    fresh = rotated.encrypt({"token": "t0k"})
    assert CredentialCipher([GOOD]).decrypt(fresh) == {"token": "t0k"}
    with pytest.raises(CredentialsError, match="cannot be decrypted"):
        CredentialCipher([OTHER]).decrypt(fresh)
    assert rotated.decrypt(None) == {} and rotated.encrypt({}) is None
    assert rotated.decrypt_secret(rotated.encrypt_secret("s3cret")) == "s3cret"


def test_the_local_key_is_a_fernet_key_made_once(sqlite_settings: Settings, tmp_path) -> None:
    local = replace(sqlite_settings, home=tmp_path / "home", secret_key=None)
    token = CredentialCipher.from_settings(local).encrypt({"a": "b"})
    key = local.secret_key_file.read_text()
    assert fernet_accepts(key) and len(base64.urlsafe_b64decode(key)) == 32
    assert local.secret_key_file.stat().st_mode & 0o777 == 0o600
    assert CredentialCipher.from_settings(local).decrypt(token) == {"a": "b"}  # the same key, read back
    assert Fernet(key.encode()).decrypt(token.encode()) == b'{"a": "b"}'
