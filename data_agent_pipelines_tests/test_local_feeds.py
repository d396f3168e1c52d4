"""Local feed files: a `file:///…` URL reads a regular file inside the local feed folder and nothing else.

The hostile cases (traversal, plain or percent-encoded; a symbolic link out of the folder; a folder, a fifo, a
device; a host in the URL; a file past the size limit) are refused by `net` at fetch time and by the source
settings when a source is added, in the words of every other refused URL.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.errors import InvalidInput
from data_agent_pipelines.net import FetchError, FetchPolicy, HttpClient, TooLarge, UnsafeURL, check_url
from data_agent_pipelines.settings import Settings, load_settings
from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

from .clirunner import run_cli
from .feeds import item, rss


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "feeds"
    made.mkdir()
    return made


def policy(folder: Path | None, max_bytes: int = 1024 * 1024) -> FetchPolicy:
    return FetchPolicy(feed_folder=folder, max_bytes=max_bytes)


def download(url: str, folder: Path | None, tmp_path: Path, max_bytes: int = 1024 * 1024):
    dest = tmp_path / "out"
    dest.mkdir(exist_ok=True)
    with HttpClient(policy(folder, max_bytes)) as client:
        return client.download(url, dest / "document")


def test_a_file_in_the_folder_is_read_like_a_download(folder: Path, tmp_path: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "feed one.xml").write_bytes(b"<rss/>")
    got = download((folder / "sub" / "feed one.xml").as_uri(), folder, tmp_path)
    assert got.path is not None and got.path.read_bytes() == b"<rss/>"
    assert got.size == 6 and got.status_code == 200 and not got.not_modified
    assert got.sha256 == hashlib.sha256(b"<rss/>").hexdigest()
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "document"]  # no partial file left


def test_the_folder_may_sit_behind_a_link_but_nothing_below_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "feed.xml").write_bytes(b"<rss/>")
    linked = tmp_path / "linked"
    linked.symlink_to(real)
    assert download((linked / "feed.xml").as_uri(), linked, tmp_path).size == 6
    assert download((real / "feed.xml").as_uri(), linked, tmp_path).size == 6


@pytest.mark.parametrize(
    ("make_url", "words"),
    [
        (lambda f: f"file://{f}/../secret.key", "climbs out of a folder with '..'"),
        (lambda f: f"file://{f}/%2e%2e/secret.key", "climbs out of a folder with '..'"),
        (lambda f: f"file://{f}/sub%2F..%2F..%2Fsecret.key", "climbs out of a folder with '..'"),
        (lambda f: f"file://{f.parent}/secret.key", "outside the local feed folder"),
        (lambda f: "file:///etc/passwd", "outside the local feed folder"),
        (lambda f: f"file://{f}", "outside the local feed folder"),  # the folder itself
        (lambda f: f"file://evil.example.com{f}/feed.xml", "a file URL names no host"),
        (lambda f: f"file://localhost{f}/feed.xml", "a file URL names no host"),
        (lambda f: f"file://{f}/feed.xml?x=1", "no query string or fragment"),
        (lambda f: "file:feeds/feed.xml", "not an absolute file path"),
        (lambda f: f"file://{f}/feed%00.xml", "not an absolute file path"),
        (lambda f: f"file://{f}/%ff.xml", "not valid percent-encoded UTF-8"),
    ],
)
def test_hostile_file_urls_are_refused_in_plain_words(make_url, words: str, folder: Path, tmp_path: Path) -> None:
    (folder / "feed.xml").write_bytes(b"<rss/>")
    (folder.parent / "secret.key").write_bytes(b"the key")
    url = make_url(folder)
    with pytest.raises(UnsafeURL) as refused:
        download(url, folder, tmp_path)
    message = str(refused.value)
    assert message.startswith("Fetching file:") and words in message
    assert f"Put the feed file in the local feed folder {folder}" in message
    assert "the key" not in message and not list((tmp_path / "out").iterdir())
    with pytest.raises(UnsafeURL):
        check_url(url, policy(folder))


def test_a_symbolic_link_out_of_the_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_bytes(b"the key")
    (folder / "feed.xml").symlink_to(secret)
    (folder / "elsewhere").symlink_to(tmp_path)
    for url in ((folder / "feed.xml").as_uri(), (folder / "elsewhere" / "secret.key").as_uri()):
        with pytest.raises(UnsafeURL, match="goes through a symbolic link"):
            download(url, folder, tmp_path)
    # Even a link that stays inside the folder: what it points at could be swapped later.
    (folder / "real.xml").write_bytes(b"<rss/>")
    (folder / "alias.xml").symlink_to(folder / "real.xml")
    with pytest.raises(UnsafeURL, match="goes through a symbolic link"):
        download((folder / "alias.xml").as_uri(), folder, tmp_path)


def test_a_folder_a_fifo_and_a_device_are_not_feed_files(folder: Path, tmp_path: Path) -> None:
    (folder / "dir.xml").mkdir()
    os.mkfifo(folder / "pipe.xml")  # opening it for reading would block forever without a writer
    cases = {"dir.xml": "not a regular file but a folder", "pipe.xml": "not a regular file but a named pipe"}
    for name, words in cases.items():
        with pytest.raises(UnsafeURL, match=words):
            download((folder / name).as_uri(), folder, tmp_path)
    # A device, reached as the folder itself (no test may create a device node): /dev holds /dev/null.
    with pytest.raises(UnsafeURL, match="not a regular file but a device"):
        download("file:///dev/null", Path("/dev"), tmp_path)


def test_a_file_past_the_size_limit_fails_like_a_body(folder: Path, tmp_path: Path) -> None:
    (folder / "big.xml").write_bytes(b"x" * 2048)
    with pytest.raises(TooLarge, match=r"the file is larger than the limit of 1\.0 KB"):
        download((folder / "big.xml").as_uri(), folder, tmp_path, max_bytes=1024)
    assert not list((tmp_path / "out").iterdir())
    assert download((folder / "big.xml").as_uri(), folder, tmp_path, max_bytes=2048).size == 2048


def test_a_missing_file_fails_the_fetch_and_no_folder_means_no_files(folder: Path, tmp_path: Path) -> None:
    url = (folder / "later.xml").as_uri()
    check_url(url, policy(folder))  # a source may name a file before it is dropped in
    with pytest.raises(FetchError, match="the file does not exist"):
        download(url, folder, tmp_path)
    (folder / "later.xml").write_bytes(b"<rss/>")
    with pytest.raises(UnsafeURL, match=r"the local feed folder is turned off \(DATA_AGENT_FEED_FOLDER=off\)"):
        download(url, None, tmp_path)
    with HttpClient(policy(folder)) as client, pytest.raises(UnsafeURL, match="only http and https"):
        client.request("GET", url)  # API calls never read files


def test_the_setting_moves_or_turns_off_the_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert load_settings({"DATA_AGENT_HOME": str(home)}).feed_folder == home.resolve() / "feeds"
    moved = load_settings({"DATA_AGENT_HOME": str(home), "DATA_AGENT_FEED_FOLDER": str(tmp_path / "drop")})
    assert moved.feed_folder == tmp_path / "drop"
    assert load_settings({"DATA_AGENT_HOME": str(home), "DATA_AGENT_FEED_FOLDER": "off"}).feed_folder is None


def test_sources_name_files_of_the_folder_only_and_only_for_feed_kinds(
    catalog: Catalog, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = settings.feed_folder
    assert folder is not None
    folder.mkdir(parents=True)
    (folder / "feed.xml").write_text(rss(item("a"), item("b")))
    catalog.add_service("acme")
    source = add_source(catalog, "acme", SourceChanges(name="Local", kind="mrss", url=(folder / "feed.xml").as_uri()))

    done = run_cli(capsys, "import", source.id, "--json")
    assert done.code == 0, done.err
    assert done.json()["counts"]["created"] == 2
    again = run_cli(capsys, "import", source.id, "--json")
    assert again.code == 0 and again.json()["status"] == "unchanged"

    secret = settings.secret_key_file.as_uri()
    refused = run_cli(capsys, "sources", "add", "--service", "acme", "--name", "Key", "--kind", "mrss", "--url", secret)
    assert refused.code == 2
    assert refused.err.strip() == (
        f"data-agent: error: refused URL {secret}: it is outside the local feed folder {folder}."
        f" Put the feed file in the local feed folder {folder} and give its file:/// URL."
    )
    with pytest.raises(InvalidInput, match="climbs out of a folder"):
        edit_source(catalog, source.id, SourceChanges(url=f"file://{folder}/%2e%2e/secret.key"))
    with pytest.raises(InvalidInput, match="a vimeo source reads an API over http"):
        add_source(
            catalog,
            "acme",
            SourceChanges(
                name="Vimeo", kind="vimeo", url=(folder / "feed.xml").as_uri(), credentials={"access_token": "t"}
            ),
        )
    # Only a source's own URL may be a file: a webhook is never one.
    hook = run_cli(capsys, "services", "notify", "acme", "--webhook", (folder / "feed.xml").as_uri())
    assert hook.code == 2 and "only http" in hook.err
