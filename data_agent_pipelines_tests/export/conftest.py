"""Fixtures of the export tests: S3 (moto on loopback) and a catalog seeded with assets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from data_agent_pipelines.settings import Settings, get_settings

from .s3server import REGION, S3Server, moto_server, provision


@pytest.fixture(scope="session")
def s3_session() -> Iterator[S3Server]:
    with moto_server() as (_server, url):
        yield provision(url)


@pytest.fixture
def s3(s3_session: S3Server, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """S3 with the platform's own AWS settings in the environment; loopback endpoints allowed for targets."""
    aws_config = tmp_path / "aws-config"
    aws_config.write_text("")
    for name, value in {
        "AWS_ENDPOINT_URL": s3_session.url,
        "AWS_ACCESS_KEY_ID": s3_session.platform.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_session.platform.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_config),
        "DATA_AGENT_ALLOW_HOSTS": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    return s3_session
