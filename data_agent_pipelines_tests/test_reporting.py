"""Bugsnag reporting: the real `bugsnag` client against a notify endpoint on loopback (up, down, hanging)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from data_agent_pipelines.model import ImportResult, ImportStatus, ItemOutcome, Outcome, empty_counts
from data_agent_pipelines.reporting import MAX_NOTIFICATIONS_PER_RUN, REDACTED, SAMPLE_ITEMS, Reporter
from data_agent_pipelines.settings import get_settings, load_settings

from .bugsnagserver import BugsnagServer, closed_port_url

API_KEY = "0123456789abcdef0123456789abcdef"
SECRET = "s3cr3t-api-token-value"


def failed(external_id: str, error: str | None, data: str = "<item/>") -> ItemOutcome:
    return ItemOutcome(
        Outcome.FAILED,
        external_id,
        reason=f"the item could not be read: {error}" if error else "no id",
        errors=[error] if error else [],
        data=data,
    )


def result(
    *items: ItemOutcome, result_id: str = "res_1", run_id: str = "run-1"
) -> tuple[ImportResult, list[ItemOutcome]]:
    """A partial result and its items, a created one among the failed ones (which alone are reported)."""
    created = ItemOutcome(Outcome.CREATED, "ok", "ast_1")
    header = ImportResult(
        id=result_id,
        source_id="src_1",
        service="acme",
        run_id=run_id,
        status=ImportStatus.PARTIAL,
        started_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        counts={**empty_counts(), "created": 1, "failed": len(items)},
    )
    return header, [created, *items]


@pytest.fixture
def server() -> Iterator[BugsnagServer]:
    with BugsnagServer().running() as running:
        yield running


def reporter(endpoint: str, **kwargs: float) -> Reporter:
    return Reporter(API_KEY, notify_endpoint=endpoint, release_stage="test", **kwargs)


def test_reporting_is_off_without_an_api_key(server: BugsnagServer) -> None:
    off = Reporter(None, notify_endpoint=server.url)
    assert not off.enabled
    assert off.report_import_errors(*result(failed("a", "ValueError('x')"))) == 0
    assert off.report_run_failure(run_id="r", job_name="import_source", error="boom") is False
    assert off.flush() is True and server.payloads == []


def test_settings_configure_the_reporter_from_the_environment(server: BugsnagServer, tmp_path: Path) -> None:
    env = {"DATA_AGENT_HOME": str(tmp_path), "BUGSNAG_API_KEY": API_KEY, "BUGSNAG_NOTIFY_ENDPOINT": server.url}
    configured = Reporter.from_settings(load_settings({**env, "BUGSNAG_RELEASE_STAGE": "staging"}))
    assert configured.enabled
    configured.report_run_failure(run_id="r", job_name="import_source", error="boom")
    assert configured.flush() and server.wait_for(1)
    assert server.events[0]["releaseStage"] == "staging"
    assert not Reporter.from_settings(load_settings({"DATA_AGENT_HOME": str(tmp_path)})).enabled


def test_each_distinct_error_is_reported_once_with_metadata_and_samples(server: BugsnagServer) -> None:
    same = "ValueError('invalid literal for int()')"
    items = [failed(f"a{n}", same) for n in range(5)] + [failed("b", "KeyError('title')"), failed("c", None)]
    sent = reporter(server.url).report_import_errors(*result(*items), kind="mrss")
    assert sent == 2
    assert server.wait_for(2)
    assert all(h["Bugsnag-Api-Key"] == API_KEY for h in server.headers)
    by_message = {e["exceptions"][0]["message"]: e for e in server.events}
    assert set(by_message) == {same, "KeyError('title')"}
    event = by_message[same]
    assert event["exceptions"][0]["errorClass"].endswith("CollectedImportError")
    assert event["severity"] == "warning" and event["unhandled"] is False
    assert event["context"] == "import acme/src_1"
    assert event["groupingHash"] and event["groupingHash"] != by_message["KeyError('title')"]["groupingHash"]
    tab = event["metaData"]["import"]
    assert tab["service"] == "acme" and tab["source_id"] == "src_1" and tab["source_kind"] == "mrss"
    assert tab["result_id"] == "res_1" and tab["run_id"] == "run-1" and tab["status"] == "partial"
    assert tab["counts"]["failed"] == 7 and tab["items_with_this_error"] == 5
    samples = event["metaData"]["samples"]["items"]
    assert [s["external_id"] for s in samples] == [f"a{n}" for n in range(SAMPLE_ITEMS)]
    assert samples[0]["data"] == "<item/>"


def test_the_same_error_in_another_run_groups_with_the_first(server: BugsnagServer) -> None:
    client = reporter(server.url)
    client.report_import_errors(*result(failed("a", "ValueError('x')"), result_id="res_1"), kind="mrss")
    client.report_import_errors(*result(failed("a", "ValueError('x')"), result_id="res_2", run_id="run-2"), kind="mrss")
    assert server.wait_for(2)
    first, second = server.events
    assert first["groupingHash"] == second["groupingHash"]
    assert first["metaData"]["import"]["result_id"] != second["metaData"]["import"]["result_id"]


def test_credentials_never_leave_even_when_an_origin_echoes_them(server: BugsnagServer) -> None:
    echoed = failed("a", f"HTTPError('401 for https://api.example.com/?token={SECRET}')", data=f"<key>{SECRET}</key>")
    client = reporter(server.url)
    client.report_import_errors(*result(echoed), kind="jwplayer", secrets=[SECRET, "ok"])
    client.report_run_failure(
        run_id="run-1", job_name="import_source", error=f"fetch: rejected {SECRET}", source_id="src_1", secrets=[SECRET]
    )
    assert server.wait_for(2)
    raw = repr(server.payloads) + repr(server.headers)
    assert SECRET not in raw
    (collected,) = [e for e in server.events if "samples" in e["metaData"]]
    assert REDACTED in collected["exceptions"][0]["message"]
    assert collected["metaData"]["samples"]["items"][0]["data"] == f"<key>{REDACTED}</key>"


def test_one_run_sends_a_bounded_number_of_reports(server: BugsnagServer) -> None:
    items = [failed(f"i{n}", f"ValueError('value {n}')") for n in range(MAX_NOTIFICATIONS_PER_RUN + 5)]
    assert reporter(server.url).report_import_errors(*result(*items)) == MAX_NOTIFICATIONS_PER_RUN
    assert server.wait_for(MAX_NOTIFICATIONS_PER_RUN)


def test_a_run_failure_is_reported_as_an_error(server: BugsnagServer) -> None:
    client = reporter(server.url)
    assert client.report_run_failure(
        run_id="run-9",
        job_name="import_source",
        error="Run timed out after exceeding max runtime\nmore detail",
        source_id="src_1",
        service="acme",
        kind="mrss",
    )
    assert client.flush() and server.wait_for(1)
    (event,) = server.events
    assert event["severity"] == "error"
    assert event["exceptions"][0]["errorClass"].endswith("ImportRunFailed")
    assert event["exceptions"][0]["message"] == "Run timed out after exceeding max runtime"
    assert event["metaData"]["run"] == {
        "job": "import_source",
        "run_id": "run-9",
        "service": "acme",
        "source_id": "src_1",
        "source_kind": "mrss",
    }


def test_an_endpoint_that_is_down_costs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    client = reporter(closed_port_url())
    started = time.monotonic()
    assert client.report_import_errors(*result(failed("a", "ValueError('x')"))) == 1
    assert client.flush(timeout=5.0) is True  # the delivery gave up at once: connection refused
    assert time.monotonic() - started < 3.0


def test_an_endpoint_that_never_answers_never_holds_the_caller() -> None:
    with BugsnagServer(mode="hang").running() as hanging:
        client = reporter(hanging.url, timeout=30.0, flush_seconds=0.5)
        started = time.monotonic()
        client.report_import_errors(*result(failed("a", "ValueError('x')")))
        assert time.monotonic() - started < 1.0  # delivery runs in the background
        assert hanging.wait_for(1)
        assert client.flush() is False  # still waiting for an answer after the bound: give up
        assert time.monotonic() - started < 3.0


def test_an_endpoint_that_refuses_the_report_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    with BugsnagServer(mode="error").running() as refusing:
        client = reporter(refusing.url)
        client.report_run_failure(run_id="r", job_name="import_source", error="boom")
        assert client.flush() and refusing.wait_for(1)
    assert "Bugsnag answered 500" in caplog.text


def test_settings_leave_reporting_off_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BUGSNAG_API_KEY", raising=False)
    monkeypatch.setenv("DATA_AGENT_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert not Reporter.from_settings().enabled
    finally:
        get_settings.cache_clear()
