"""Notifications and auto-pause over the API: webhooks per service (secret shown once), their deliveries to a real
receiver that checks signatures, and resuming a paused source; each tenant sees only its own."""

from __future__ import annotations

import pytest

from data_agent_pipelines import notifications
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import load_settings

from ..webhookserver import WebhookReceiver
from .conftest import Tenant, new_source


def test_webhooks_deliveries_and_resume_over_the_api(
    receiver: WebhookReceiver, acme: Tenant, globex: Tenant, catalog: Catalog
) -> None:
    made = acme.client.post(acme.url("/webhooks"), json={"url": receiver.url, "events": ["paused", "failed"]})
    assert made.status_code == 201, made.text
    webhook = made.json()
    assert webhook["events"] == ["failed", "paused"] and webhook["secret"].startswith("whsec_")
    receiver.secret = webhook["secret"]
    # The same URL again changes its events and keeps its secret, which is not shown again.
    again = acme.client.post(acme.url("/webhooks"), json={"url": receiver.url, "events": ["failed", "paused"]})
    assert again.status_code == 201 and again.json()["id"] == webhook["id"] and again.json()["secret"] is None
    assert acme.client.get(acme.url("/webhooks")).json()["items"] == [
        {key: value for key, value in again.json().items() if key != "secret"}
    ]

    source = new_source(acme, pause_after=2)
    assert source["pause_after"] == 2 and source["paused"] is False
    for _ in range(2):
        catalog.record_failed_run(catalog.get_source(source["id"]), run_id=None, error="boom", dry_run=False)
    shown = acme.client.get(acme.url(f"/sources/{source['id']}")).json()
    assert shown["paused"] is True and shown["paused_reason"].startswith("paused after 2 failed imports in a row")

    with notifications.webhook_client(load_settings()) as client:
        assert notifications.deliver_due(catalog, client).delivered == 3
    assert sorted(receiver.events()) == ["failed", "failed", "paused"]
    assert all(delivery.signature_valid for delivery in receiver.deliveries)

    deliveries = acme.client.get(acme.url("/deliveries"), params={"status": "delivered"}).json()["items"]
    assert len(deliveries) == 3 and all(d["attempt_log"][0]["status_code"] == 200 for d in deliveries)
    assert {d["url"] for d in deliveries} == {receiver.url}
    assert acme.client.get(acme.url("/deliveries"), params={"status": "pending"}).json()["items"] == []
    assert acme.client.get(acme.url("/deliveries"), params={"status": "lost"}).status_code == 400

    # Another tenant sees none of it and can change none of it.
    assert globex.client.get(globex.url("/deliveries")).json()["items"] == []
    assert globex.client.get(acme.url("/webhooks")).status_code == 404
    assert globex.client.post(globex.url(f"/sources/{source['id']}/resume")).status_code == 404
    assert globex.client.delete(globex.url(f"/webhooks/{webhook['id']}")).status_code == 404

    resumed = acme.client.post(acme.url(f"/sources/{source['id']}/resume"))
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    removed = acme.client.delete(acme.url(f"/webhooks/{webhook['id']}"))
    assert removed.status_code == 200 and removed.json()["removed"] is True
    assert acme.client.get(acme.url("/webhooks")).json()["items"] == []
    assert acme.client.get(acme.url("/deliveries")).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"url": "http://10.0.0.7/hook"}, 400, "a private address"),
        ({"url": "https://hooks.example.com/x", "events": ["exploded"]}, 400, "unknown notification event"),
        ({"url": "https://hooks.example.com/x", "secret": "mine"}, 422, "secret"),
    ],
)
def test_a_bad_webhook_is_refused_with_words_to_act_on(acme: Tenant, body: dict, status: int, words: str) -> None:
    answer = acme.client.post(acme.url("/webhooks"), json=body)
    assert answer.status_code == status and words in answer.text
    assert acme.client.get(acme.url("/webhooks")).json()["items"] == []


def test_pause_after_is_a_checked_setting(acme: Tenant) -> None:
    source = new_source(acme)
    assert source["pause_after"] == 10 and source["failures_in_a_row"] == 0
    changed = acme.client.patch(acme.url(f"/sources/{source['id']}"), json={"pause_after": 0})
    assert changed.status_code == 200 and changed.json()["pause_after"] == 0
    assert acme.client.patch(acme.url(f"/sources/{source['id']}"), json={"pause_after": -1}).status_code == 422
