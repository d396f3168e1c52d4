"""Push triggers: `POST /hooks/{service}/{source_id}` with the source's own secret, made by the CLI.

Through the CLI (`sources hook-token`), the app (TestClient) and a real `data-agent serve`, on both backends.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus
from fastapi.testclient import TestClient
from sqlalchemy import select

from data_agent_pipelines.api.hook_auth import push_is_authentic
from data_agent_pipelines.catalog.hooks import SourceHooks
from data_agent_pipelines.catalog.schema import source_hooks
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.notifications import sign
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from ..conftest import FakeClock, add_feed_source
from .conftest import Tenant
from .test_serve import serving

BODY = b'{"event": "media_updated", "media_id": "MNYaMSQl"}'


def _token(capsys, source_id: str, *flags: str) -> dict:
    made = run_cli(capsys, "sources", "hook-token", source_id, "--json", *flags)
    assert made.code == 0, made.err
    return made.json()


def _queued_runs(settings: Settings, source_id: str) -> list:
    instance = open_instance(settings)
    try:
        runs = instance.get_runs()
        return [run for run in runs if run.tags.get("dagster/partition") == source_id]
    finally:
        instance.dispose()


def test_the_cli_shows_a_secret_once_and_rotates_it(catalog: Catalog, capsys) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    made = _token(capsys, source_id)
    assert made["path"] == f"/hooks/acme/{source_id}" and made["token"].startswith("dah_")
    shown = _token(capsys, source_id)
    assert "token" not in shown and shown["created_at"] == made["created_at"]
    rotated = _token(capsys, source_id, "--rotate")
    assert rotated["token"] != made["token"]
    assert SourceHooks(catalog).secret(source_id) == rotated["token"]
    # Stored encrypted: the secret is nowhere in the row.
    with catalog.engine.connect() as conn:
        stored = conn.execute(select(source_hooks.c.secret)).scalar_one()
    assert rotated["token"] not in stored
    unknown = run_cli(capsys, "sources", "hook-token", "src_nope")
    assert unknown.code == 2 and "src_nope" in unknown.err
    text = run_cli(capsys, "sources", "hook-token", source_id)
    assert f"POST /hooks/acme/{source_id}" in text.out and "--rotate makes a new one" in text.out
    assert rotated["token"] not in text.out


def test_the_hook_is_in_the_openapi_description_without_an_api_key(app_client: TestClient) -> None:
    operation = app_client.get("/openapi.json").json()["paths"]["/hooks/{service}/{source_id}"]["post"]
    assert "security" not in operation and {p["name"] for p in operation["parameters"]} >= {"token"}


def test_a_platform_secret_is_read_from_stdin_and_checked(catalog: Catalog, capsys, monkeypatch) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    refused = run_cli(capsys, "sources", "hook-token", source_id, "--set-secret")
    assert refused.code == 2 and "16 to 500 printable characters" in refused.err
    monkeypatch.setattr("sys.stdin", io.StringIO("mux-signing-secret-0123456789\n"))
    assert _token(capsys, source_id, "--set-secret")["token"] == "mux-signing-secret-0123456789"


def test_each_way_of_proving_the_secret_queues_one_run_and_a_second_push_waits_for_it(
    app_client: TestClient, catalog: Catalog, clock: FakeClock, settings: Settings, capsys
) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    secret = _token(capsys, source_id)["token"]
    path = f"/hooks/acme/{source_id}"

    first = app_client.post(path, content=BODY, headers={"Authorization": f"Bearer {secret}"})
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "queued"
    run_id = first.json()["run_id"]
    runs = _queued_runs(settings, source_id)
    assert [run.run_id for run in runs] == [run_id]
    assert runs[0].status.value == "QUEUED" and runs[0].tags["data_agent/launched_by"] == "hook"

    now = int(clock().timestamp())
    for headers, params in (
        ({"X-Data-Agent-Token": secret}, {}),
        ({}, {"token": secret}),
        ({"X-Data-Agent-Signature": sign(secret, BODY, now)}, {}),
        ({"Mux-Signature": sign(secret, BODY, now - 60)}, {}),
    ):
        again = app_client.post(path, content=BODY, headers=headers, params=params)
        assert again.status_code == 202, (headers, params, again.text)
        assert again.json() == {"status": "already queued", "run_id": run_id, "source_id": source_id}
    assert len(_queued_runs(settings, source_id)) == 1
    assert SourceHooks(catalog).get(source_id).last_pushed_at == clock()


def test_pushes_without_the_secret_are_refused_alike(
    app_client: TestClient, catalog: Catalog, clock: FakeClock, settings: Settings, capsys
) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    other = add_feed_source(catalog, "https://feeds.example.com/b.xml", service="globex", name="b")
    secret = _token(capsys, source_id)["token"]
    no_secret_yet = add_feed_source(catalog, "https://feeds.example.com/c.xml", name="c")
    now = int(clock().timestamp())
    attempts = [
        (f"/hooks/acme/{source_id}", {}),  # nothing
        (f"/hooks/acme/{source_id}", {"Authorization": "Bearer dah_wrong"}),
        (f"/hooks/acme/{source_id}", {"Authorization": f"Basic {secret}"}),
        (f"/hooks/globex/{source_id}", {"Authorization": f"Bearer {secret}"}),  # another service's path
        (f"/hooks/globex/{other}", {"Authorization": f"Bearer {secret}"}),
        (f"/hooks/acme/{no_secret_yet}", {"Authorization": f"Bearer {secret}"}),
        ("/hooks/acme/src_nope", {"Authorization": f"Bearer {secret}"}),
        # A signature of another body, a stale one (replayed 10 minutes later), one without a timestamp.
        (f"/hooks/acme/{source_id}", {"X-Data-Agent-Signature": sign(secret, b"{}", now)}),
        (f"/hooks/acme/{source_id}", {"X-Data-Agent-Signature": sign(secret, BODY, now - 600)}),
        (f"/hooks/acme/{source_id}", {"Mux-Signature": sign(secret, BODY, now).split(",", 1)[1]}),
    ]
    for path, headers in attempts:
        refused = app_client.post(path, content=BODY, headers=headers)
        assert refused.status_code == 401, (path, headers, refused.text)
        assert refused.json()["error"] == "unauthorized" and "hook-token" in refused.json()["detail"]
    assert _queued_runs(settings, source_id) == []

    # A rotated secret stops working at once.
    rotated = _token(capsys, source_id, "--rotate")["token"]
    assert app_client.post(f"/hooks/acme/{source_id}", params={"token": secret}).status_code == 401
    assert app_client.post(f"/hooks/acme/{source_id}", params={"token": rotated}).status_code == 202


def test_a_disabled_source_is_not_imported_on_a_push(
    app_client: TestClient, catalog: Catalog, settings: Settings, capsys
) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    secret = _token(capsys, source_id)["token"]
    catalog.set_enabled(source_id, False)
    refused = app_client.post(f"/hooks/acme/{source_id}", params={"token": secret})
    assert refused.status_code == 409 and f"sources enable {source_id}" in refused.json()["detail"]
    assert _queued_runs(settings, source_id) == []


def test_a_run_that_has_started_does_not_absorb_a_push(
    app_client: TestClient, catalog: Catalog, settings: Settings, capsys
) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    secret = _token(capsys, source_id)["token"]
    first = app_client.post(f"/hooks/acme/{source_id}", params={"token": secret}).json()["run_id"]
    instance = open_instance(settings)
    try:
        # The run starts, as the daemon would start it (the same storage event).
        run = instance.get_run_by_id(first)
        started = DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name=run.job_name)
        instance.run_storage.handle_run_event(first, started)
        assert instance.get_run_by_id(first).status == DagsterRunStatus.STARTED
    finally:
        instance.dispose()
    second = app_client.post(f"/hooks/acme/{source_id}", params={"token": secret}).json()
    assert second["status"] == "queued" and second["run_id"] != first


def test_a_push_to_a_served_api_queues_an_import(settings: Settings, catalog: Catalog, capsys) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    secret = _token(capsys, source_id)["token"]
    with serving(workers=1) as served:
        url = f"{served.base}/hooks/acme/{source_id}"
        signed = sign(secret, BODY, int(time.time()))
        first = httpx.post(url, content=BODY, headers={"X-Data-Agent-Signature": signed}, timeout=60)
        assert first.status_code == 202, first.text
        again = httpx.post(url, params={"token": secret}, timeout=60)
        assert again.json() == {"status": "already queued", "run_id": first.json()["run_id"], "source_id": source_id}
        assert httpx.post(url, params={"token": "dah_wrong"}, timeout=60).status_code == 401
    assert [run.run_id for run in _queued_runs(settings, source_id)] == [first.json()["run_id"]]


def test_pushes_arriving_together_at_two_workers_queue_one_run(settings: Settings, catalog: Catalog, capsys) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    secret = _token(capsys, source_id)["token"]
    pushes = 8
    with serving(workers=2) as served:
        url = f"{served.base}/hooks/acme/{source_id}"
        httpx.post(f"{served.base}/hooks/acme/src_nope", timeout=60)  # both workers up before the burst
        start = threading.Barrier(pushes)

        def push(_: int) -> dict:
            start.wait()
            return httpx.post(url, params={"token": secret}, timeout=60).json()

        with ThreadPoolExecutor(pushes) as pool:
            answers = list(pool.map(push, range(pushes)))
    queued = [answer for answer in answers if answer["status"] == "queued"]
    assert len(queued) == 1, answers
    assert {answer["run_id"] for answer in answers} == {queued[0]["run_id"]}
    assert [run.run_id for run in _queued_runs(settings, source_id)] == [queued[0]["run_id"]]


@pytest.mark.parametrize("skew", [timedelta(minutes=-4), timedelta(minutes=4)])
def test_a_signature_within_five_minutes_of_our_clock_is_accepted(skew: timedelta) -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    signed = sign("s" * 20, BODY, int((now + skew).timestamp()))
    headers = httpx.Headers({"X-Data-Agent-Signature": signed})
    assert push_is_authentic("s" * 20, headers, BODY, query_token=None, now=now)
    assert not push_is_authentic("t" * 20, headers, BODY, query_token=None, now=now)


def test_the_api_makes_a_secret_once_per_call_and_only_for_the_keys_service(
    app_client: TestClient, catalog: Catalog, acme: Tenant, globex: Tenant
) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    path = acme.url(f"/sources/{source_id}/hook-token")
    assert acme.client.get(path).status_code == 404
    made = acme.client.post(path)
    assert made.status_code == 201 and made.json()["path"] == f"/hooks/acme/{source_id}"
    secret = made.json()["token"]
    shown = acme.client.get(path).json()
    assert "token" not in shown and shown["created_at"] == made.json()["created_at"]
    assert app_client.post(f"/hooks/acme/{source_id}", params={"token": secret}).status_code == 202
    assert globex.client.post(globex.url(f"/sources/{source_id}/hook-token")).status_code == 404
    assert app_client.post(f"/hooks/acme/{source_id}", params={"token": secret}).json()["status"] == "already queued"
    # Deleting the source takes its secret with it.
    catalog.delete_source(source_id)
    assert SourceHooks(catalog).get(source_id) is None
    assert app_client.post(f"/hooks/acme/{source_id}", params={"token": secret}).status_code == 401
