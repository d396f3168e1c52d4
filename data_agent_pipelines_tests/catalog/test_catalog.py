"""The catalog store on both backends: schema, migrations, round trips, encryption, bulk lookups, upserts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect, select, text

from data_agent_pipelines.catalog import migrate
from data_agent_pipelines.catalog.engine import make_engine
from data_agent_pipelines.catalog.schema import sources
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.errors import Conflict, InvalidInput, NotFound
from data_agent_pipelines.model import (
    Asset,
    AssetWrite,
    Availability,
    Credit,
    Edition,
    Geoblock,
    HeldBack,
    Image,
    ImportResult,
    ImportStatus,
    ItemOutcome,
    Outcome,
    Rating,
    Stream,
    Subtitle,
    asset_from_dict,
    asset_to_dict,
    encode_asset,
)
from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

from ..conftest import add_feed_source


def full_asset(external_id: str = "ext-1") -> Asset:
    """An asset with every field of the model set."""
    return Asset(
        external_id=external_id,
        type="episode",
        title="Pilot — «Ünïcode»",
        description="A long description.\nWith two lines.",
        short_description="Short",
        duration=1325,
        release_date=date(2024, 2, 29),
        published_at=datetime(2024, 3, 1, 10, 30, 15, tzinfo=UTC),
        availability=Availability(
            start=datetime(2024, 3, 1, tzinfo=UTC), end=datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)
        ),
        images=[
            Image("https://img.example.com/still.jpg", "still", 1920, 1080),
            Image("https://img.example.com/poster.jpg", "poster"),
        ],
        tags=["drama", "pilot"],
        genres=["Drama"],
        credits=[Credit("Ada Lovelace", "director"), Credit("Alan Turing")],
        ratings=[Rating("PG-13", "urn:mpaa"), Rating("12", "urn:fsk")],
        geoblock=Geoblock("deny", ["CU", "KP"]),
        editions=[
            Edition(
                "full",
                streams=[
                    Stream(
                        "https://cdn.example.com/a.m3u8", "hls", "application/x-mpegURL", None, 4000, 1920, 1080, True
                    ),
                    Stream("https://cdn.example.com/a.mpd", "dash", "application/dash+xml", "widevine"),
                ],
                subtitles=[Subtitle("https://cdn.example.com/a.en.vtt", "en", "English")],
            ),
            Edition("trailer", streams=[Stream("https://cdn.example.com/t.mp4", "mp4", "video/mp4", bitrate=800)]),
        ],
        series="The Show",
        season=1,
        episode=1,
        custom={"player_url": "https://player.example.com/1", "studio": "ACME"},
    )


def asset_write(asset: Asset, asset_id: str) -> AssetWrite:
    encoded = encode_asset(asset)
    return AssetWrite(asset_id, asset.external_id, encoded.columns, encoded.content_hash, encoded.field_hashes)


def write_asset(catalog: Catalog, source_id: str, asset: Asset, asset_id: str = "ast_1") -> None:
    catalog.write_assets(catalog.get_source(source_id), [asset_write(asset, asset_id)], imported_at=catalog.clock())


@pytest.fixture
def source_id(catalog: Catalog) -> str:
    return add_feed_source(catalog, "https://example.com/f.xml")


def test_migrations_create_every_table_from_empty(database_url: str) -> None:
    engine = make_engine(database_url)
    assert migrate.current_revisions(engine) == set()
    migrate.upgrade(engine)
    assert migrate.current_revisions(engine) == migrate.head_revisions()
    tables = set(inspect(engine).get_table_names())
    assert {"services", "sources", "assets", "import_results", "import_result_items", "alembic_version"} <= tables
    unique = inspect(engine).get_unique_constraints("assets")
    assert any(set(u["column_names"]) == {"source_id", "external_id"} for u in unique)
    indexed = {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes("assets")}
    assert ("service", "type") in indexed and ("external_id",) in indexed
    engine.dispose()


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert migrate.head_revisions() == frozenset(ScriptDirectory.from_config(migrate.alembic_config()).get_heads())


def test_migrations_downgrade_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    config = migrate.alembic_config()
    from alembic import command

    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        connection.commit()
    assert "assets" not in inspect(engine).get_table_names()
    migrate.ensure_current(engine)
    assert "assets" in inspect(engine).get_table_names()
    engine.dispose()


def test_every_asset_field_round_trips(catalog: Catalog, source_id: str) -> None:
    asset = full_asset()
    write_asset(catalog, source_id, asset)
    stored = catalog.get_asset("ast_1")
    expected = asset_to_dict(asset)
    for name, value in expected.items():
        assert stored[name] == value, name
    assert asset_from_dict(stored) == asset
    assert stored["service"] == "acme" and stored["source_id"] == source_id
    assert stored["status"] == "published" and stored["edited_fields"] == []
    assert stored["created_at"] == stored["updated_at"] == stored["last_imported_at"] == "2026-11-01T12:00:00Z"


def test_an_empty_asset_round_trips(catalog: Catalog, source_id: str) -> None:
    write_asset(catalog, source_id, Asset("bare"))
    assert asset_from_dict(catalog.get_asset("ast_1")) == Asset("bare")


def test_upsert_converges_instead_of_duplicating(catalog: Catalog, source_id: str) -> None:
    write_asset(catalog, source_id, full_asset(), asset_id="ast_1")
    # A re-run that did not see the first write would make up a new id: the (source, external id) row wins.
    changed = full_asset()
    changed.title = "Renamed"
    write_asset(catalog, source_id, changed, asset_id="ast_other")
    listed = catalog.list_assets("acme")
    assert [(a["id"], a["title"]) for a in listed] == [("ast_1", "Renamed")]


def test_existing_assets_bulk_lookup_spans_chunks(catalog: Catalog, source_id: str) -> None:
    source = catalog.get_source(source_id)
    writes = [asset_write(Asset(f"e{i}", title=f"t{i}"), f"ast_{i}") for i in range(2100)]
    catalog.write_assets(source, writes, imported_at=catalog.clock())
    found = catalog.existing_assets(source_id, [f"e{i}" for i in range(0, 2100, 3)] + ["missing"])
    assert len(found) == 700
    assert found["e3"].id == "ast_3" and found["e3"].status == "published"
    assert found["e3"].content_hash == encode_asset(Asset("e3", title="t3")).content_hash
    assert catalog.count_assets(source_id) == 2100


def test_cms_edit_records_edited_fields(catalog: Catalog, source_id: str, clock) -> None:
    write_asset(catalog, source_id, full_asset())
    clock.advance(minutes=5)
    edited = catalog.edit_asset("ast_1", {"title": "CMS title", "tags": ["x"]})
    assert edited["title"] == "CMS title" and edited["tags"] == ["x"]
    assert edited["edited_fields"] == ["tags", "title"]
    assert edited["updated_at"] == "2026-11-01T12:05:00Z"
    again = catalog.edit_asset("ast_1", {"duration": 10})
    assert again["edited_fields"] == ["duration", "tags", "title"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nope": 1}, "unknown asset field 'nope'"),
        ({"release_date": "29/02/2024"}, "invalid value for asset field 'release_date'"),
        ({"duration": "long"}, "invalid value for asset field 'duration'"),
        ({"geoblock": {"allow": ["US"], "deny": ["CA"]}}, "invalid value for asset field 'geoblock'"),
    ],
)
def test_cms_edit_rejects_bad_values_and_changes_nothing(catalog: Catalog, source_id: str, changes, message) -> None:
    write_asset(catalog, source_id, full_asset())
    before = catalog.get_asset("ast_1")
    with pytest.raises(InvalidInput, match=message):
        catalog.edit_asset("ast_1", changes)
    assert catalog.get_asset("ast_1") == before


def test_credentials_are_encrypted_at_rest(catalog: Catalog) -> None:
    catalog.add_service("acme")
    secret = "tok-9f8e7d6c5b4a-very-secret"
    added = add_source(
        catalog,
        "acme",
        SourceChanges(name="ovp", kind="vimeo", url="https://api.example.com/", credentials={"access_token": secret}),
    )
    with catalog.engine.connect() as conn:
        raw = conn.execute(select(sources.c.credentials)).scalar_one()
        dump = " ".join(str(v) for v in conn.execute(select(sources)).one())
    assert secret not in raw and secret not in dump
    assert catalog.get_source(added.id).credentials == {"access_token": secret}


def test_edit_source_merges_and_removes_credentials_and_options(catalog: Catalog) -> None:
    catalog.add_service("acme")
    added = add_source(
        catalog,
        "acme",
        SourceChanges(
            name="ovp",
            kind="jwplayer",
            url="https://api.example.com/",
            credentials={"api_secret": "1", "b": "2"},
            options={"site_id": "x", "timeout": "30"},
        ),
    )
    edited = edit_source(
        catalog, added.id, SourceChanges(credentials={"b": "", "c": "3"}, options={"timeout": ""}, cron="0 * * * *")
    )
    assert edited.credentials == {"api_secret": "1", "c": "3"}
    assert edited.options == {"site_id": "x"}
    assert (edited.cron, edited.every_seconds) == ("0 * * * *", None)


def test_duplicate_names_and_unknown_ids(catalog: Catalog) -> None:
    catalog.add_service("acme")
    with pytest.raises(Conflict):
        catalog.add_service("acme")
    changes = SourceChanges(name="feed", kind="mrss", url="https://example.com/f.xml")
    add_source(catalog, "acme", changes)
    with pytest.raises(Conflict, match="already has a source named 'feed'"):
        add_source(catalog, "acme", changes)
    with pytest.raises(NotFound):
        add_source(catalog, "other", changes)
    for call in (catalog.get_source, catalog.get_asset, catalog.get_result, catalog.delete_source):
        with pytest.raises(NotFound):
            call("missing")
    assert len(catalog.list_sources()) == 1


def test_deleting_a_source_keeps_its_assets_and_results(catalog: Catalog, source_id: str) -> None:
    write_asset(catalog, source_id, full_asset())
    result = ImportResult(
        id="res_1",
        source_id=source_id,
        service="acme",
        run_id="r1",
        status=ImportStatus.SUCCEEDED,
        started_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 1, 12, 0, 1, tzinfo=UTC),
        counts={"created": 1},
    )
    catalog.record_result(result, [ItemOutcome(Outcome.CREATED, "ext-1", "ast_1")])
    catalog.delete_source(source_id)
    assert catalog.get_asset("ast_1")["source_id"] is None
    assert catalog.get_result("res_1").to_json()["items"][0]["outcome"] == "created"


def test_results_round_trip_with_items_in_order(catalog: Catalog, source_id: str) -> None:
    items = [ItemOutcome(Outcome.CREATED, f"e{i}", f"ast_{i}") for i in range(2500)]
    items.append(ItemOutcome(Outcome.FAILED, "bad", reason="no id", errors=["x"], data="<item/>"))
    result = ImportResult(
        id="res_1",
        source_id=source_id,
        service="acme",
        run_id="run-1",
        status=ImportStatus.PARTIAL,
        started_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 1, 12, 0, 3, tzinfo=UTC),
        notes=["a note"],
        held_back=HeldBack("unpublish", 3, "the origin returned no items"),
        counts={"created": 2500, "failed": 1},
    )
    catalog.record_result(result, items)
    stored = catalog.get_result("res_1").to_json()
    assert stored["started_at"] == "2026-11-01T12:00:00Z" and stored["finished_at"] == "2026-11-01T12:00:03Z"
    assert stored["status"] == "partial" and stored["dry_run"] is False
    assert stored["held_back"] == {"action": "unpublish", "count": 3, "reason": "the origin returned no items"}
    assert stored["counts"] == {
        "created": 2500,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "failed": 1,
        "unpublished": 0,
        "deleted": 0,
    }
    assert [i["external_id"] for i in stored["items"][:3]] == ["e0", "e1", "e2"]
    assert stored["items"][-1] == {
        "external_id": "bad",
        "asset_id": None,
        "outcome": "failed",
        "reason": "no id",
        "errors": ["x"],
        "kept_fields": [],
        "data": "<item/>",
    }
    assert catalog.result_for_run("run-1").id == "res_1"
    assert catalog.list_results(source_id=source_id)[0].notes == ["a note"]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_the_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data_agent_pipelines.catalog.schema import metadata

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert differences == []


def test_json_columns_are_jsonb_on_postgresql_json_elsewhere_and_none_is_sql_null() -> None:
    # What `JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")` was, made lazily.
    from sqlalchemy import JSON
    from sqlalchemy.dialects import postgresql, sqlite

    from data_agent_pipelines.catalog.schema import assets

    for dialect, ddl, kind in [
        (postgresql.psycopg2.dialect(), "JSONB", postgresql.JSONB),
        (sqlite.pysqlite.dialect(), "JSON", JSON),
    ]:
        column_type = assets.c.geoblock.type
        assert column_type.compile(dialect=dialect) == ddl
        implementation = column_type.dialect_impl(dialect).impl_instance
        assert isinstance(implementation, kind) and implementation.none_as_null
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        assert processor is None or processor(None) is None


def test_credentials_never_follow_a_source_to_another_host(catalog: Catalog) -> None:
    catalog.add_service("acme")
    source = add_source(
        catalog,
        "acme",
        SourceChanges(name="ovp", kind="vimeo", url="https://api.vimeo.com/", credentials={"access_token": "t0k"}),
    )
    with pytest.raises(InvalidInput, match="credentials were given for another host"):
        edit_source(catalog, source.id, SourceChanges(url="https://collector.example.net/"))
    assert catalog.get_source(source.id).url == "https://api.vimeo.com/"
    edit_source(catalog, source.id, SourceChanges(url="https://api.vimeo.com/v2/"))  # the same host: fine
    moved = edit_source(
        catalog, source.id, SourceChanges(url="https://mirror.example.net/", credentials={"access_token": "other"})
    )
    assert moved.credentials == {"access_token": "other"}


def test_a_change_of_what_is_imported_drops_the_last_fetchs_validators(catalog: Catalog, source_id: str) -> None:
    catalog.record_run(
        source_id,
        status="succeeded",
        error=None,
        ran_at=catalog.clock(),
        validators={"etag": '"e1"', "last_modified": "x", "content_digest": "d"},
    )
    edit_source(catalog, source_id, SourceChanges(every="2h"))  # the schedule does not change what is imported
    assert catalog.get_source(source_id).etag == '"e1"'
    changed = edit_source(catalog, source_id, SourceChanges(asset_type="clip"))
    assert (changed.etag, changed.last_modified, changed.content_digest) == (None, None, None)


def test_a_url_with_a_password_is_refused_without_repeating_it(catalog: Catalog) -> None:
    catalog.add_service("acme")
    with pytest.raises(InvalidInput, match="give them as --credential") as refused:
        add_source(catalog, "acme", SourceChanges(name="f", kind="mrss", url="https://me:hunter2@feeds.example.com/f"))
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [({"tags": "news, sport"}, ["news", "sport"]), ({"genres": "Drama"}, ["Drama"])],
)
def test_a_comma_separated_list_is_split_not_spelled_out(
    catalog: Catalog, source_id: str, changes: dict, expected: list
) -> None:
    write_asset(catalog, source_id, full_asset())
    field = next(iter(changes))
    assert catalog.edit_asset("ast_1", changes)[field] == expected
