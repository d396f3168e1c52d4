"""Settings from the environment (docs/cli.md), read once per process through `get_settings()`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# The value of DATA_AGENT_FEED_FOLDER that turns local feed files off.
FEED_FOLDER_OFF = "off"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    allow_hosts: tuple[str, ...]
    export_buckets: tuple[str, ...]
    secret_key: str | None
    dagster_home: Path
    max_document_bytes: int
    bugsnag_api_key: str | None
    bugsnag_notify_endpoint: str | None
    bugsnag_sessions_endpoint: str | None
    bugsnag_release_stage: str | None
    # Run requests one heartbeat tick may emit; the rest wait for the next tick.
    heartbeat_max_runs: int = 500
    # Where the UI's code references of the assets point: the repository and its branch or tag (local files if unset).
    code_git_url: str | None = None
    code_git_ref: str = "main"
    # Retention (catalog/retention.py): import results older than this many days are deleted (each source's
    # latest result is kept whole), and of every other result only this many `unchanged` items are kept.
    results_max_age_days: int = 90
    results_unchanged_items_kept: int = 100
    # A source with no successful import for this many of its intervals fails its `imported_recently` check.
    freshness_intervals: int = 3
    # The one folder `file://` feed URLs may read (DATA_AGENT_FEED_FOLDER); None: local files are refused.
    feed_folder: Path | None = None

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def work_dir(self) -> Path:
        """Scratch space for runs (downloaded documents, staged items); each run cleans up after itself."""
        return self.home / "work"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """The integer setting `name`: `default` when unset or empty, raised to `minimum` when below it."""
    return max(minimum, int(env.get(name) or default))


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from an environment mapping (the process environment by default)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("DATA_AGENT_HOME") or "./.data_agent").expanduser().resolve()
    database_url = env.get("DATA_AGENT_DATABASE_URL") or f"sqlite:///{home / 'catalog.db'}"
    dagster_home = Path(env.get("DAGSTER_HOME") or home / "dagster").expanduser().resolve()
    feed_folder_setting = (env.get("DATA_AGENT_FEED_FOLDER") or "").strip()
    feed_folder = (
        None
        if feed_folder_setting == FEED_FOLDER_OFF
        else Path(feed_folder_setting or home / "feeds").expanduser().absolute()
    )
    return Settings(
        home=home,
        database_url=database_url,
        allow_hosts=_csv(env.get("DATA_AGENT_ALLOW_HOSTS")),
        export_buckets=_csv(env.get("DATA_AGENT_EXPORT_BUCKETS")),
        secret_key=env.get("DATA_AGENT_SECRET_KEY") or None,
        dagster_home=dagster_home,
        max_document_bytes=int(env.get("DATA_AGENT_MAX_DOCUMENT_BYTES") or 512 * 1024 * 1024),
        bugsnag_api_key=env.get("BUGSNAG_API_KEY") or None,
        bugsnag_notify_endpoint=env.get("BUGSNAG_NOTIFY_ENDPOINT") or None,
        bugsnag_sessions_endpoint=env.get("BUGSNAG_SESSIONS_ENDPOINT") or None,
        bugsnag_release_stage=env.get("BUGSNAG_RELEASE_STAGE") or None,
        heartbeat_max_runs=_int(env, "DATA_AGENT_HEARTBEAT_MAX_RUNS", Settings.heartbeat_max_runs, 1),
        code_git_url=env.get("DATA_AGENT_CODE_GIT_URL") or None,
        code_git_ref=env.get("DATA_AGENT_CODE_GIT_REF") or "main",
        results_max_age_days=_int(env, "DATA_AGENT_RESULTS_MAX_AGE_DAYS", Settings.results_max_age_days, 1),
        results_unchanged_items_kept=_int(
            env, "DATA_AGENT_RESULTS_UNCHANGED_ITEMS_KEPT", Settings.results_unchanged_items_kept, 0
        ),
        freshness_intervals=_int(env, "DATA_AGENT_FRESHNESS_INTERVALS", Settings.freshness_intervals, 1),
        feed_folder=feed_folder,
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return load_settings()
