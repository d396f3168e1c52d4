"""Fixtures shared by the connector tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data_agent_pipelines.settings import Settings, get_settings


@pytest.fixture
def loopback(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The test settings with fetches from 127.0.0.1 allowed, where the fake platforms listen."""
    monkeypatch.setenv("DATA_AGENT_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()
