"""Bad input at the CLI and the API: exit 2 / HTTP 4xx with one clear line, never a traceback or a 500, and
nothing stored. Edits are held to the checks of `add`. Both catalog backends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_agent_pipelines.api import create_app
from data_agent_pipelines.catalog.api_keys import ApiKeys
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import ASSET_FIELDS, Asset, AssetWrite, Edition, Stream, encode_asset
from data_agent_pipelines.settings import Settings

from .clirunner import CliResult, run_cli


def _refused(done: CliResult, *words: str) -> None:
    assert done.code == 2, (done.code, done.out, done.err)
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("data-agent: error: "), done.err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def source_id(catalog: Catalog, capsys: pytest.CaptureFixture[str]) -> str:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    added = run_cli(
        capsys, "sources", "add", "--service", "acme", "--name", "feed", "--kind", "mrss", "--url",
        "https://feeds.example.com/a.xml", "--json",
    )  # fmt: skip
    assert added.code == 0, added.err
    return added.json()["id"]


@pytest.fixture
def asset_id(catalog: Catalog, source_id: str) -> str:
    asset = Asset("ext-1", title="One", editions=[Edition("full", [Stream("https://cdn.example.com/1.m3u8", "hls")])])
    encoded = encode_asset(asset)
    write = AssetWrite("ast_one", asset.external_id, encoded.columns, encoded.content_hash)
    catalog.write_assets(catalog.get_source(source_id), [write], imported_at=catalog.clock())
    return "ast_one"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1/", ["invalid URL", "http://[::1/"]),
        ("http://example.com:99999/feed", ["invalid URL", "Port out of range"]),
        ("https://" + "a" * 5000 + ".com/", ["the limit is 4,096"]),
        ("ftp://example.com/feed", ["only http:// and https://"]),
    ],
)
def test_a_malformed_url_is_refused_at_add_and_edit(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, source_id: str, url: str, words: list[str]
) -> None:
    _refused(
        run_cli(capsys, "sources", "add", "--service", "acme", "--name", "x", "--kind", "mrss", "--url", url), *words
    )
    _refused(run_cli(capsys, "sources", "edit", source_id, "--url", url), *words)
    assert [source.name for source in catalog.list_sources("acme")] == ["feed"]
    assert catalog.get_source(source_id).url == "https://feeds.example.com/a.xml"


def test_an_address_in_an_option_is_checked_like_the_url(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, source_id: str
) -> None:
    _refused(run_cli(capsys, "sources", "edit", source_id, "--option", "oauth_url=http://[::1/"), "--option oauth_url")
    _refused(run_cli(capsys, "sources", "edit", source_id, "--option", "oauth_url=http://10.0.0.8/token"), "refused")
    _refused(run_cli(capsys, "sources", "edit", source_id, "--option", f"site_id={'x' * 5000}"), "the limit is 4,096")
    assert catalog.get_source(source_id).options == {}


def test_changing_the_kind_is_held_to_the_checks_of_add(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, source_id: str
) -> None:
    # A feed's URL means nothing to a platform: the edit must say where to read.
    _refused(
        run_cli(capsys, "sources", "edit", source_id, "--kind", "jwplayer"), "--url", "https://api.jwplayer.com/v2/"
    )
    # With a URL, the platform's required settings are asked for, as `sources add` asks for them.
    _refused(
        run_cli(capsys, "sources", "edit", source_id, "--kind", "jwplayer", "--url", "https://api.jwplayer.com/v2/"),
        "--option site_id",
        "--credential api_secret",
    )
    assert catalog.get_source(source_id).kind == "mrss"
    changed = run_cli(
        capsys, "sources", "edit", source_id, "--kind", "jwplayer", "--url", "https://api.jwplayer.com/v2/",
        "--option", "site_id=SiTe1234", "--credential", "api_secret=s3cret",
    )  # fmt: skip
    assert changed.code == 0, changed.err
    # JW Player's options mean nothing to Vimeo: the edit must remove them, and says so.
    _refused(
        run_cli(capsys, "sources", "edit", source_id, "--kind", "vimeo", "--credential", "access_token=t"),
        "unknown --option 'site_id' for a vimeo source",
        "--option site_id=",
    )
    # Between platforms on their default API bases, the new platform's base follows the kind.
    edited = run_cli(
        capsys, "sources", "edit", source_id, "--kind", "vimeo", "--credential", "access_token=t",
        "--option", "site_id=", "--json",
    )  # fmt: skip
    assert edited.code == 0, edited.err
    assert edited.json()["url"] == "https://api.vimeo.com/"


@pytest.mark.parametrize(
    ("assignment", "words"),
    [
        ("duration=1e308", ["duration", "out of range"]),
        ("duration=-1", ["duration", "out of range"]),
        ("duration=3000000000", ["out of range (0 to 2,147,483,647)"]),
        ("season=true", ["season", "not a number"]),
        ("episode=NaN", ["episode"]),
        ("title=" + "t" * 1001, ["title is 1,001 characters long; the limit is 1,000"]),
        ('editions=[{"streams": [{"url": "http://[::1/"}]}]', ["editions[0].streams[0].url", "not a valid URL"]),
        ('images=[{"url": "cdn/no-scheme.jpg"}]', ["not an absolute http(s) URL"]),
        ('tags=["a\\u0000b"]', ["tags[0]", "NUL"]),
        ("type=null", ["unknown type 'null'"]),
    ],
)
def test_an_asset_edit_out_of_bounds_is_refused_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, asset_id: str, assignment: str, words: list[str]
) -> None:
    before = catalog.get_asset(asset_id)
    _refused(run_cli(capsys, "assets", "edit", asset_id, "--set", assignment), *words)
    assert catalog.get_asset(asset_id) == before


@pytest.fixture
def api(settings: Settings, catalog: Catalog, source_id: str) -> Iterator[TestClient]:
    _record, key = ApiKeys(catalog).add("acme")
    with TestClient(
        create_app(settings, catalog=catalog), raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        yield client


@pytest.mark.parametrize(
    "body",
    [{"duration": 1e20}, {"duration": -1}, {"season": 2**31}, {"episode": True}, {"type": None}, {"title": "a" * 2000}],
)
def test_the_api_refuses_an_asset_edit_out_of_bounds(
    api: TestClient, catalog: Catalog, asset_id: str, body: dict
) -> None:
    before = catalog.get_asset(asset_id)
    response = api.patch(f"/services/acme/assets/{asset_id}", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_input"
    assert catalog.get_asset(asset_id) == before


def test_the_api_refuses_a_malformed_url_and_an_unchecked_kind_change(
    api: TestClient, catalog: Catalog, source_id: str
) -> None:
    for body in ({"url": "http://[::1/"}, {"options": {"oauth_url": "http://[::1/"}}, {"kind": "brightcove"}):
        response = api.patch(f"/services/acme/sources/{source_id}", json=body)
        assert response.status_code == 400, (body, response.text)
    response = api.post("/services/acme/sources", json={"name": "x", "kind": "mrss", "url": "http://[::1/"})
    assert response.status_code == 400, response.text
    assert catalog.get_source(source_id).kind == "mrss" and len(catalog.list_sources("acme")) == 1


@pytest.mark.parametrize("name", ["Acme's feed", "Trailers (FR)", "Séries", "Feed #2", "新着動画", "a" * 200])
def test_a_source_name_is_any_printable_text(capsys: pytest.CaptureFixture[str], catalog: Catalog, name: str) -> None:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    added = run_cli(
        capsys, "sources", "add", "--service", "acme", "--name", f"  {name} ", "--kind", "mrss", "--url",
        "https://feeds.example.com/a.xml", "--json",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert catalog.get_source(added.json()["id"]).name == name


@pytest.mark.parametrize("name", ["", "   ", "line\nbreak", "tab\there", "bell\x07", "a" * 201])
def test_a_source_name_that_is_not_printable_text_is_refused(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, source_id: str, name: str
) -> None:
    _refused(run_cli(capsys, "sources", "edit", source_id, "--name", name), "invalid source name", "printable")
    assert catalog.get_source(source_id).name == "feed"


def test_an_option_the_kind_does_not_take_is_refused_with_the_ones_it_does(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, source_id: str
) -> None:
    added = run_cli(
        capsys, "sources", "add", "--service", "acme", "--name", "other", "--kind", "mrss", "--url",
        "https://feeds.example.com/b.xml", "--option", "bogus=1",
    )  # fmt: skip
    _refused(added, "unknown --option 'bogus' for a mrss source", "timeout", "ttl")
    _refused(run_cli(capsys, "sources", "edit", source_id, "--option", "site_id=x"), "unknown --option 'site_id'")
    # What a kind takes, and signing's options, are accepted.
    assert run_cli(capsys, "sources", "edit", source_id, "--option", "timeout=30", "--option", "ttl=60").code == 0
    assert catalog.get_source(source_id).options == {"timeout": "30", "ttl": "60"}
    assert [s.name for s in catalog.list_sources("acme")] == ["feed"]


def test_the_api_refuses_an_option_the_kind_does_not_take(api: TestClient, catalog: Catalog, source_id: str) -> None:
    response = api.patch(f"/services/acme/sources/{source_id}", json={"options": {"renditions": "false"}})
    assert response.status_code == 400 and "unknown --option 'renditions'" in response.text, response.text
    body = {
        "name": "jw",
        "kind": "jwplayer",
        "options": {"site_id": "S", "page": "2"},
        "credentials": {"api_secret": "k"},
    }
    response = api.post("/services/acme/sources", json=body)
    assert response.status_code == 400 and "unknown --option 'page' for a jwplayer source" in response.text
    assert catalog.get_source(source_id).options == {} and len(catalog.list_sources("acme")) == 1


# What a user may type: the edges of numbers, addresses and text, plus anything at all.
TYPED = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", "0", "-1", "1e308", "nan", "inf", "3000000000", "99999999999999999999", "true", "null", "[]", "{}",
         "http://[::1/", "http://example.com:99999/", "https://feeds.example.com/ok.xml", "\x00", "x" * 5000,
         '{"a": 1}', '[{"url": 1}]', "1h", "5 minutes", "*/5 * * * *", "0.5"]
    ),
)  # fmt: skip
FLAGS = st.sampled_from(
    ["--url", "--every", "--cron", "--max-removal-fraction", "--truth", "--on-missing", "--asset-type", "--kind"]
)


def test_no_value_a_user_types_makes_the_cli_fail_with_a_traceback(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, source_id: str, asset_id: str
) -> None:
    codes: Counter[int] = Counter()

    @settings(max_examples=200, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        command=st.sampled_from(["edit-source", "add-source", "edit-asset", "option", "limit", "ttl"]),
        flag=FLAGS,
        name=st.sampled_from(ASSET_FIELDS),
        value=TYPED,
    )
    def check(command: str, flag: str, name: str, value: str) -> None:
        args = {
            "edit-source": ["sources", "edit", source_id, flag, value],
            "add-source": ["sources", "add", "--service", "acme", "--name", "fuzzed", "--kind", "mrss",
                           "--url", "https://feeds.example.com/f.xml", "--json", flag, value],
            "edit-asset": ["assets", "edit", asset_id, "--set", f"{name}={value}"],
            "option": ["sources", "edit", source_id, "--option", f"oauth_url={value}", "--option", f"timeout={value}"],
            "limit": ["assets", "list", "--service", "acme", "--limit", value],
            "ttl": ["streams", asset_id, "--ttl", value],
        }[command]  # fmt: skip
        # run_cli lets any exception but SystemExit through: a traceback fails this test.
        done = run_cli(capsys, *args)
        codes[done.code] += 1
        assert done.code in (0, 2), (args, done.code, done.err)
        if done.code == 2:
            assert len(done.err.strip().splitlines()) == 1, done.err
        if command == "add-source" and done.code == 0:
            assert run_cli(capsys, "sources", "delete", done.json()["id"]).code == 0
        # Whatever was accepted can still be read and played.
        assert run_cli(capsys, "assets", "show", asset_id).code == 0
        assert run_cli(capsys, "streams", asset_id).code == 0

    check()
    assert codes[0] > 10 and codes[2] > 10, codes
