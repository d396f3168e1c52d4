"""Check the Dagster UI in a real browser: the health checks per partition, the metadata plot, the failed items.

    python scripts/ui_check.py [--out FOLDER] [--chromium /usr/bin/chromium] [--keep]

On a fresh home (a temporary folder) it runs `data-agent demo`, then adds two sources served from loopback: one
whose feed answers 404 (its import fails) and one with an item that has no id (its import is partial), imports
them, and imports the partial one again (two materializations make a plot). It starts the UI as the README says
(`dg dev -w $DAGSTER_HOME/workspace.yaml`), drives Debian's chromium headless over the Chrome DevTools
Protocol, and for each view waits until the page shows what it must, asserts it, and writes a PNG:

- `checks.png`: Assets > import_results > Checks, the four checks of the asset, with their partition status;
- `check_partitions.png`: one check's partitions: the failed source marked failed;
- `plots.png`: Assets > import_results > Plots, the counts plotted over materializations;
- `failed_items.png`: the partial source's materialization and its `failed_items` table.

Prints the folder of the screenshots. Exits 1 (with what was missing) when a view never shows what it must.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import websocket

GOOD_ITEM = """<item><guid isPermaLink="false">{guid}</guid><title>Episode {guid}</title>
<media:content url="https://cdn.example.com/{guid}/master.m3u8" type="application/x-mpegURL" duration="60"/></item>"""
NO_ID_ITEM = "<item><description>an item with no guid, link or title: nothing to identify it by</description></item>"
VIEW_TIMEOUT = 90.0


def feed(*items: str) -> bytes:
    body = "".join(items)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>UI check</title><link>https://example.com/</link><description>x</description>{body}"
        "</channel></rss>"
    ).encode()


@contextmanager
def feed_server(documents: dict[str, bytes]) -> Iterator[str]:
    """Serve `documents` (path -> body) on loopback; other paths answer 404. Yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def data_agent(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run a `data-agent` command with `--json`; its JSON (an import that fails still prints its result)."""
    done = subprocess.run(
        [sys.executable, "-m", "data_agent_pipelines.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise SystemExit(f"data-agent {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def seed(env: dict[str, str], base: str, documents: dict[str, bytes]) -> dict[str, str]:
    """The demo, a failed source and a partial one (imported twice, its feed grown in between: the same document
    would end the second import as unchanged); returns their ids by role."""
    demo = data_agent(env, "demo")
    ids = {"demo": demo["source_id"]}
    for role, path in (("failed", "/gone.xml"), ("partial", "/partial.xml")):
        added = data_agent(
            env, "sources", "add", "--service", "demo", "--name", f"{role} feed", "--kind", "mrss", "--url", base + path
        )
        ids[role] = added["id"]
    if data_agent(env, "import", ids["failed"])["status"] != "failed":
        raise SystemExit("the import of a feed that answers 404 did not fail")
    for size in (3, 5):
        documents["/partial.xml"] = feed(*(GOOD_ITEM.format(guid=f"ep{n}") for n in range(size)), NO_ID_ITEM)
        result = data_agent(env, "import", ids["partial"])
        if result["status"] != "partial":
            raise SystemExit(f"the partial source's import was {result['status']}, not partial: {result['error']}")
    return ids


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own process group, ended (with its children) when the block ends."""
    with log.open("wb") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield child
        finally:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_for_http(url: str, what: str, child: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{what} exited ({child.returncode}) before it answered at {url}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)  # polling a child process that gives no other signal of readiness
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f} s")


class Page:
    """One browser tab driven over the Chrome DevTools Protocol."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=60)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=1600, height=1100, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
        return str(result.get("result", {}).get("value") or "")

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, awaitPromise=True).get("result", {}).get("value")

    def open(self, url: str, must_show: list[str], *, clicks: tuple[tuple[str, str], ...] = ()) -> str:
        """Go to `url`; for each (shown, text) of `clicks` in turn, once the page shows `shown`, click the element
        whose text is `text`; then wait until the page shows every text of `must_show`; returns the page's text.
        Raises AssertionError naming what never appeared."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + VIEW_TIMEOUT
        pending = list(clicks)
        missing = must_show
        while time.monotonic() < deadline:
            # The community dialog of a first visit covers the page: dismiss it whenever it shows.
            dialog = "Join the Dagster community" in self.text()
            if dialog:
                self.evaluate(_CLICK.replace("TEXT", json.dumps("Skip")))
            elif (
                pending
                and pending[0][0] in self.text()
                and self.evaluate(_CLICK.replace("TEXT", json.dumps(pending[0][1])))
            ):
                pending.pop(0)
            text = self.text()
            missing = [wanted for wanted in must_show if wanted not in text]
            if not dialog and not pending and not missing:
                if self.evaluate("document.querySelector('canvas') !== null"):
                    time.sleep(1.5)  # charts animate in and signal no end: let them finish before the screenshot
                return text
            time.sleep(0.5)  # the UI loads its data over GraphQL after the page: poll its text
        unclicked = f" (nothing to click: {pending[0][1]!r})" if pending else ""
        raise AssertionError(f"{url}: never showed {missing}{unclicked}")

    def screenshot(self, path: Path) -> None:
        # The community dialog can open after the view has loaded: wait until it is dismissed, not over the view.
        deadline = time.monotonic() + VIEW_TIMEOUT
        while "Join the Dagster community" in self.text() and time.monotonic() < deadline:
            self.evaluate(_CLICK.replace("TEXT", json.dumps("Skip")))
            time.sleep(0.5)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.write_bytes(base64.b64decode(data))


# Clicks the last visible element whose own text is TEXT (a button or a link); true when it found one. Visible by
# its boxes, not offsetParent: that is null inside the fixed-position dialogs (the community dialog's Skip).
_CLICK = """(() => {
  const wanted = TEXT;
  const all = [...document.querySelectorAll('button, a, span, div')]
    .filter(e => e.getClientRects().length > 0 && e.textContent.trim() === wanted);
  if (!all.length) return false;
  all[all.length - 1].click();
  return true;
})()"""


def check(out: Path, chromium: str) -> list[Path]:
    home = Path(tempfile.mkdtemp(prefix="ui_check_"))
    documents: dict[str, bytes] = {}
    env = {
        **os.environ,
        "DATA_AGENT_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "DATA_AGENT_ALLOW_HOSTS": "127.0.0.1",
    }
    env.pop("DATA_AGENT_DATABASE_URL", None)
    shots: list[Path] = []
    with feed_server(documents) as base:
        ids = seed(env, base, documents)
        ui_port, cdp_port = free_port(), free_port()
        workspace = str(home / "dagster" / "workspace.yaml")
        # `dg dev`, as the README starts the UI (the venv's own, beside this interpreter).
        dg = str(Path(sys.executable).with_name("dg"))
        dev = [dg, "dev", "-w", workspace, "-p", str(ui_port), "-h", "127.0.0.1"]
        ui = f"http://127.0.0.1:{ui_port}"
        with process(dev, env, home / "dagster_dev.log") as dagster:
            wait_for_http(f"{ui}/server_info", "dg dev", dagster)
            browser = [
                chromium,
                "--headless=new",
                "--no-sandbox",  # root in a container: chromium's sandbox needs user namespaces
                "--disable-gpu",
                "--no-first-run",
                f"--remote-debugging-port={cdp_port}",
                f"--user-data-dir={home / 'chromium'}",
                "about:blank",
            ]
            with process(browser, env, home / "chromium.log") as chrome:
                wait_for_http(f"http://127.0.0.1:{cdp_port}/json/version", "chromium", chrome)
                target = httpx.put(f"http://127.0.0.1:{cdp_port}/json/new?about:blank", timeout=10).json()
                page = Page(target["webSocketDebuggerUrl"])
                asset = f"{ui}/assets/import_results"
                names = ["last_import_succeeded", "failed_items_under_threshold", "removals_not_held_back"]
                views: list[tuple[str, str, list[str], tuple[tuple[str, str], ...]]] = [
                    # The four checks, each with the status of its latest verdict.
                    ("checks.png", f"{asset}?view=checks", [*names, "imported_recently", "Failed"], ()),
                    # One check's partitions: the failed source failed, the demo and the partial one passed.
                    (
                        "check_partitions.png",
                        f"{asset}?view=checks&checkDetail=last_import_succeeded",
                        ["Failed (1)", "Passed (2)", ids["failed"]],
                        (("Execution history", "Partitions"),),
                    ),
                    # The counts plotted over the materializations.
                    (
                        "plots.png",
                        asset,
                        ["created", "failed", "unchanged", "duration_seconds"],
                        (("Metadata", "Plots"),),
                    ),
                    # The partial source's materialization: its source named, its failed item in a table.
                    (
                        "failed_items.png",
                        f"{asset}?view=events&partition={ids['partial']}",
                        ["failed_items", "partial feed", "external_id", "derive a stable id", ids["partial"]],
                        (),
                    ),
                ]
                for name, url, must_show, clicks in views:
                    try:
                        page.open(url, must_show, clicks=clicks)
                    except AssertionError:
                        page.screenshot(out / f"missing_{name}")  # what the page showed instead
                        raise
                    shots.append(out / name)
                    page.screenshot(shots[-1])
    shutil.rmtree(home, ignore_errors=True)
    return shots


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the PNGs (default: a new temporary one)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser (Debian's chromium)")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        raise SystemExit(f"no browser at {args.chromium}: apt-get install -y chromium, or give --chromium")
    out = args.out or Path(tempfile.mkdtemp(prefix="ui_check_shots_"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        shots = check(out, args.chromium)
    except AssertionError as missing:
        print(f"ui_check: {missing}; screenshots so far in {out}", file=sys.stderr)
        raise SystemExit(1) from None
    for shot in shots:
        print(shot)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
