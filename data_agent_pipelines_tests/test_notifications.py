"""Notifications and auto-pause through the CLI, against a real webhook receiver that checks signatures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from data_agent_pipelines import notifications
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings, get_settings, load_settings

from .bugsnagserver import BugsnagServer
from .clirunner import run_cli
from .conftest import FakeClock, add_feed_source
from .feeds import item, rss
from .feedserver import FeedServer
from .webhookserver import WebhookReceiver


@pytest.fixture
def bugsnag(receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[BugsnagServer]:
    with BugsnagServer().running() as server:
        monkeypatch.setenv("BUGSNAG_API_KEY", "a" * 32)
        monkeypatch.setenv("BUGSNAG_NOTIFY_ENDPOINT", server.url)
        get_settings.cache_clear()
        yield server


@pytest.fixture
def notifying_catalog(receiver: WebhookReceiver, clock: FakeClock) -> Iterator[Catalog]:
    """A catalog on a clock the test moves, opened once the receiver's host is allowed."""
    opened = Catalog.open(load_settings(), clock=clock)
    yield opened
    opened.close()


def _deliver(capsys: pytest.CaptureFixture[str]) -> dict:
    done = run_cli(capsys, "services", "deliver", "--json")
    assert done.code == 0, done.err
    return done.json()


def test_a_failing_source_pauses_notifies_once_then_recovers_after_resume(
    receiver: WebhookReceiver, bugsnag: BugsnagServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with FeedServer().running() as feeds:
        feed_url = feeds.serve("/feed.xml", "gone", status=404)
        assert run_cli(capsys, "services", "add", "acme").code == 0
        added = run_cli(
            capsys, "sources", "add", "--service", "acme", "--name", "Feed", "--kind", "mrss", "--url", feed_url,
            "--pause-after", "2", "--json",
        )  # fmt: skip
        assert added.code == 0, added.err
        source_id = added.json()["id"]
        assert added.json()["pause_after"] == 2 and added.json()["paused"] is False

        made = run_cli(
            capsys, "services", "notify", "acme", "--webhook", receiver.url, "--on", "failed,recovered,paused", "--json"
        )
        assert made.code == 0, made.err
        webhook = made.json()
        assert webhook["events"] == ["failed", "recovered", "paused"] and webhook["secret"].startswith("whsec_")
        receiver.secret = webhook["secret"]
        listed = run_cli(capsys, "services", "webhooks", "acme", "--json").json()
        assert [w["id"] for w in listed] == [webhook["id"]] and "secret" not in listed[0]

        for _ in range(2):
            assert run_cli(capsys, "import", source_id, "--json").code == 1
        shown = run_cli(capsys, "sources", "show", source_id, "--json").json()
        assert shown["paused"] is True and shown["failures_in_a_row"] == 2
        assert "paused after 2 failed imports in a row" in shown["paused_reason"] and "404" in shown["paused_reason"]
        listed_sources = run_cli(capsys, "sources", "list", "--json").json()
        assert [s["paused"] for s in listed_sources] == [True]

        # Still failing, imported by hand while paused: another `failed`, no second pause.
        assert run_cli(capsys, "import", source_id, "--json").code == 1
        assert _deliver(capsys) == {"delivered": 4, "retrying": 0, "given_up": 0, "more_due": False}
        assert sorted(receiver.events()) == ["failed", "failed", "failed", "paused"]
        now = time.time()
        for delivery in receiver.deliveries:
            body = delivery.json()
            assert delivery.signature_valid and abs(now - (delivery.timestamp or 0)) < 300
            assert delivery.headers["X-Data-Agent-Event"] == body["event"]
            assert delivery.headers["X-Data-Agent-Delivery"] == body["id"]
            assert body["service"] == "acme" and body["source"]["id"] == source_id and body["status"] == "failed"
        paused = next(d.json() for d in receiver.deliveries if d.json()["event"] == "paused")
        assert paused["failures_in_a_row"] == 2 and paused["paused_reason"] == shown["paused_reason"]
        assert paused["result_id"] and paused["counts"]["created"] == 0 and "404" in paused["error"]

        resumed = run_cli(capsys, "sources", "resume", source_id, "--json")
        assert resumed.code == 0 and resumed.json()["paused"] is False and resumed.json()["paused_reason"] is None
        feeds.serve("/feed.xml", rss(item("a"), item("b")))
        assert run_cli(capsys, "import", source_id, "--json").json()["status"] == "succeeded"
        assert _deliver(capsys)["delivered"] == 1
        recovered = receiver.deliveries[-1].json()
        assert recovered["event"] == "recovered" and recovered["counts"]["created"] == 2
        assert recovered["failures_in_a_row"] == 0 and receiver.deliveries[-1].signature_valid
        assert run_cli(capsys, "sources", "show", source_id, "--json").json()["failures_in_a_row"] == 0

    # Bugsnag heard of the pause once and of the recovery once, not of every failed interval.
    assert bugsnag.wait_for(2)
    classes = sorted(event["exceptions"][0]["errorClass"].rsplit(".", 1)[-1] for event in bugsnag.events)
    assert classes == ["SourcePaused", "SourceRecovered"]
    assert {event["severity"] for event in bugsnag.events} == {"error", "info"}
    deliveries = run_cli(capsys, "services", "deliveries", "acme", "--json").json()
    assert len(deliveries) == 5 and {d["status"] for d in deliveries} == {"delivered"}
    assert all(d["attempt_log"][0]["status_code"] == 200 for d in deliveries)


def test_a_delivery_answered_500_is_retried_with_backoff_and_each_attempt_is_recorded(
    receiver: WebhookReceiver, notifying_catalog: Catalog, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = notifying_catalog
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    webhook, secret = notifications.add_webhook(catalog, "acme", receiver.url, None)
    receiver.secret = secret or ""
    catalog.record_failed_run(catalog.get_source(source_id), run_id=None, error="boom", dry_run=False)
    receiver.answers = [500, 503]

    def deliver() -> notifications.DeliveryRun:
        with notifications.webhook_client(load_settings()) as client:
            return notifications.deliver_due(catalog, client)

    assert deliver().retrying == 1
    assert deliver().to_json() == {"delivered": 0, "retrying": 0, "given_up": 0, "more_due": False}  # not yet due
    clock.advance(seconds=30)
    assert deliver().retrying == 1
    clock.advance(seconds=119)
    assert len(receiver.deliveries) == 2 and deliver().delivered == 0
    clock.advance(seconds=1)
    assert deliver().delivered == 1

    first, second, third = receiver.deliveries
    assert [d.answered for d in receiver.deliveries] == [500, 503, 200]
    assert all(d.signature_valid for d in receiver.deliveries)
    # Every attempt is signed anew at its own time; the body and the delivery id stay the same.
    start = int((clock.now - timedelta(seconds=150)).timestamp())
    assert [first.timestamp, second.timestamp, third.timestamp] == [start, start + 30, start + 150]
    assert first.body == second.body == third.body
    assert len({d.headers["X-Data-Agent-Delivery"] for d in receiver.deliveries}) == 1

    shown = run_cli(capsys, "services", "deliveries", "acme", "--json")
    assert shown.code == 0, shown.err
    (delivery,) = shown.json()
    assert delivery["webhook_id"] == webhook["id"] and delivery["event"] == "failed"
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3 and delivery["last_error"] is None
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 503, 200]
    assert delivery["attempt_log"][0]["error"] == "the endpoint answered HTTP 500"


def test_a_delivery_that_keeps_failing_is_given_up_after_the_last_attempt(
    receiver: WebhookReceiver, notifying_catalog: Catalog, clock: FakeClock
) -> None:
    catalog = notifying_catalog
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    receiver.secret = notifications.add_webhook(catalog, "acme", receiver.url, "failed")[1] or ""
    catalog.record_failed_run(catalog.get_source(source_id), run_id=None, error="boom", dry_run=False)
    receiver.answers = [500] * notifications.MAX_ATTEMPTS
    given_up = 0
    with notifications.webhook_client(load_settings()) as client:
        for attempt in range(1, notifications.MAX_ATTEMPTS + 1):
            given_up += notifications.deliver_due(catalog, client).given_up
            delay = notifications.retry_delay(attempt)
            clock.advance(seconds=delay.total_seconds() if delay else 3600)
        assert notifications.deliver_due(catalog, client).to_json()["delivered"] == 0
    assert given_up == 1 and len(receiver.deliveries) == notifications.MAX_ATTEMPTS
    (delivery,) = notifications.Webhooks(catalog).deliveries("acme")
    assert delivery["status"] == "failed" and delivery["attempts"] == notifications.MAX_ATTEMPTS
    assert delivery["next_attempt_at"] is None and delivery["last_error"] == "the endpoint answered HTTP 500"


def test_a_paused_source_is_not_due_and_resuming_makes_it_due_at_once(notifying_catalog: Catalog, clock) -> None:
    catalog = notifying_catalog
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml", pause_after="3")
    for _ in range(3):
        catalog.record_failed_run(catalog.get_source(source_id), run_id=None, error="boom", dry_run=False)
    later = clock.now + timedelta(days=1)
    assert catalog.due_sources(later, limit=10) == []
    catalog.resume_source(source_id)
    assert [due.id for due in catalog.due_sources(clock.now, limit=10)] == [source_id]
    # Still failing after the resume: paused again at once, one more `paused` event, not one per failure.
    _, recorded = catalog.record_failed_run(catalog.get_source(source_id), run_id=None, error="boom", dry_run=False)
    assert recorded is not None and recorded.paused and recorded.failures_in_a_row == 4
    _, recorded = catalog.record_failed_run(catalog.get_source(source_id), run_id=None, error="boom", dry_run=False)
    assert recorded is not None and not recorded.paused and recorded.events == ("failed",)


def test_signatures_refuse_old_timestamps_other_bodies_and_other_secrets() -> None:
    body = b'{"event":"failed"}'
    header = notifications.sign("whsec_k", body, 1_800_000_000)
    assert notifications.verify("whsec_k", body, header, now=1_800_000_100)
    assert not notifications.verify("whsec_k", body, header, now=1_800_000_000 + 301)  # a replay, too late
    assert not notifications.verify("whsec_k", body + b" ", header, now=1_800_000_000)
    assert not notifications.verify("whsec_other", body, header, now=1_800_000_000)
    assert not notifications.verify("whsec_k", body, header.replace("t=1800000000", "t=1800000001"), now=1_800_000_000)
    assert not notifications.verify("whsec_k", body, "v1=abc", now=1_800_000_000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook", "http://127.0.0.1:9/hook"], "a loopback address"),
        (["--webhook", "http://169.254.169.254/latest"], "metadata"),
        (["--webhook", "ftp://hooks.example.com/x"], "only http:// and https://"),
        (["--webhook", "https://hooks.example.com/x", "--on", "failed,exploded"], "unknown notification event"),
        (["--webhook", "https://hooks.example.com/x", "--on", ","], "at least one event"),
    ],
)
def test_a_bad_webhook_exits_2_and_stores_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    done = run_cli(capsys, "services", "notify", "acme", *args)
    assert done.code == 2 and message in done.err and len(done.err.strip().splitlines()) == 1
    assert run_cli(capsys, "services", "webhooks", "acme", "--json").json() == []


def test_the_verification_snippet_in_the_docs_accepts_our_signatures_and_refuses_replays() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert "def verify(" in snippet
    namespace: dict = {}
    exec(snippet, namespace)  # the documentation's own code, run as a receiver would
    verify = namespace["verify"]
    body = b'{"event":"paused","id":"dlv_1"}'
    now = int(time.time())
    assert verify("whsec_k", body, notifications.sign("whsec_k", body, now))
    assert not verify("whsec_k", body, notifications.sign("whsec_k", body, now - 301))
    assert not verify("whsec_k", b"{}", notifications.sign("whsec_k", body, now))


def test_the_webhook_deliveries_sensor_sends_what_is_due(receiver: WebhookReceiver, notifying_catalog: Catalog) -> None:
    from dagster import SkipReason, build_sensor_context

    from data_agent_pipelines.orchestration.notifications import webhook_deliveries
    from data_agent_pipelines.orchestration.resources import CatalogResource

    catalog = notifying_catalog
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    receiver.secret = notifications.add_webhook(catalog, "acme", receiver.url, "failed")[1] or ""
    catalog.record_failed_run(catalog.get_source(source_id), run_id=None, error="boom", dry_run=False)
    with build_sensor_context(resources={"catalog": CatalogResource()}) as context:
        outcome = webhook_deliveries(context)
    assert isinstance(outcome, SkipReason) and outcome.skip_message.startswith("1 delivered")
    assert receiver.events() == ["failed"] and receiver.deliveries[0].signature_valid
