"""The HTML report in a real headless browser (Debian's chromium) over the DevTools protocol.

It loads without errors or network requests, the charts and the table render,
sorting and filtering work, and a screenshot goes to tests/artifacts/report.png
for people to look at. In CI (CI=true) a missing chromium fails the test:
`.ci/run` installs it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from migrator.cli import app

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "tests" / "data" / "report_app"
ARTIFACTS = REPO / "tests" / "artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _git(root: Path, *args: str, day: int = 1) -> None:
    date = f"2024-05-{day:02d}T10:00:00+00:00"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(root),
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report_app with a short git history (so the burndown chart has points), as HTML."""
    base = tmp_path_factory.mktemp("html")
    root = base / "app"
    shutil.copytree(APP, root)
    checkout = root / "shop" / "agents" / "checkout.py"
    final = checkout.read_text()
    checkout.write_text(
        final.replace(
            "dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context)",
            "dispatcher = AgentDispatcher(None)",
        )
    )
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "legacy start", day=1)
    checkout.write_text(final)
    _git(root, "commit", "-qam", "migrate price_cart", day=2)
    output = base / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(root),
            "--root",
            str(root),
            "--no-cache",
            "-f",
            "html",
            "-o",
            str(output),
            "--history",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    return output


def test_html_is_self_contained(report_file: Path) -> None:
    html = report_file.read_text()
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in html
    for pattern in (
        r"<link\b",
        r"<img\b",
        r"<iframe\b",
        r"\bsrc=",
        r"@import",
        r"url\(",
        r"https?://",
    ):
        assert not re.search(pattern, html), pattern
    assert html.count('<svg class="chart"') == 4  # kinds, code, packages, burndown


# ---------------------------------------------------------------------- the browser


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.stack = contextlib.ExitStack()
        self.socket = self.stack.enter_context(connect(url, max_size=None, open_timeout=20))
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)
        raise AssertionError(f"{method}: no answer")

    def wait_for(self, method: str, timeout: float = 20) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=timeout))
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise AssertionError(f"no {method} event")

    def js(self, expression: str) -> Any:
        reply = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def click(self, selector: str) -> None:
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView();"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def type(self, selector: str, text: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def close(self) -> None:
        self.stack.close()


@pytest.fixture(scope="module")
def page(report_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    binary = _browser()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1280,1800",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        target = next(t for t in targets if t["type"] == "page")
        tools = DevTools(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable")
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=1800,
            deviceScaleFactor=1,
            mobile=False,
        )
        tools.send("Page.navigate", url=report_file.as_uri())
        tools.wait_for("Page.loadEventFired")
        deadline = time.monotonic() + 10
        while tools.js("document.documentElement.getAttribute('data-ready')") != "true":
            assert time.monotonic() < deadline, "the page script did not finish"
            time.sleep(0.05)
        yield tools
        tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _visible_rows(page: DevTools) -> list[dict[str, Any]]:
    return page.js(
        "Array.from(document.querySelectorAll('#sites tbody tr')).filter(r => !r.hidden"
        " && r.getBoundingClientRect().height > 0).map(r => ({kind: r.dataset.kind,"
        " status: r.dataset.status, file: r.cells[0].textContent, line: Number(r.cells[1].textContent)}))"
    )


def test_page_loads_without_errors_or_network(page: DevTools, report_file: Path) -> None:
    problems = [
        e
        for e in page.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (
            e.get("method") == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "assert")
        )
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert problems == []
    requested = [
        e["params"]["request"]["url"]
        for e in page.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested and all(url == report_file.as_uri() for url in requested), requested


def test_charts_render(page: DevTools) -> None:
    charts = page.js(
        "Array.from(document.querySelectorAll('svg.chart')).map(s => ({name: s.dataset.chart,"
        " width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height,"
        " bars: Array.from(s.querySelectorAll('rect.bar')).filter(r => r.getBBox().width > 0).length,"
        " points: s.querySelectorAll('circle.point').length}))"
    )
    by_name = {chart["name"]: chart for chart in charts}
    assert set(by_name) == {"kinds", "code", "packages", "burndown"}
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 40, chart
    assert by_name["kinds"]["bars"] == 6
    assert by_name["packages"]["bars"] >= 5
    assert by_name["burndown"]["points"] == 4  # two commits, two series
    remaining = page.js(
        "document.querySelector('polyline[data-series=remaining]').getAttribute('points').split(' ').length"
    )
    assert remaining == 2


def test_table_renders_every_site(page: DevTools) -> None:
    assert page.js("document.querySelectorAll('#sites tbody tr').length") == 19
    assert len(_visible_rows(page)) == 19
    assert page.js("document.getElementById('site-count').textContent") == "19 of 19 sites shown"


def test_sorting(page: DevTools) -> None:
    page.click("#sites th[data-key=line] button")
    lines = [row["line"] for row in _visible_rows(page)]
    assert lines == sorted(lines)
    assert (
        page.js("document.querySelector('#sites th[data-key=line]').getAttribute('aria-sort')")
        == "ascending"
    )
    page.click("#sites th[data-key=line] button")
    lines = [row["line"] for row in _visible_rows(page)]
    assert lines == sorted(lines, reverse=True)
    page.click("#sites th[data-key=kind] button")
    kinds = [row["kind"] for row in _visible_rows(page)]
    assert kinds == sorted(kinds)
    page.click("#sites th[data-key=file] button")
    files = [row["file"] for row in _visible_rows(page)]
    assert files == sorted(files)


def test_filtering(page: DevTools) -> None:
    page.js("document.getElementById('site-filter').value = ''")
    page.type("#site-filter", "checkout")
    rows = _visible_rows(page)
    assert {row["file"] for row in rows} == {"shop/agents/checkout.py", "tests/checkout_checks.py"}
    assert len(rows) == 7
    page.js(
        "(() => { const s = document.getElementById('kind-filter'); s.value = 'singleton';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    rows = _visible_rows(page)
    assert {row["kind"] for row in rows} == {"singleton"} and len(rows) == 4
    assert page.js("document.getElementById('site-count').textContent") == "4 of 19 sites shown"
    page.js(
        "(() => { const s = document.getElementById('status-filter'); s.value = 'suppressed';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    assert _visible_rows(page) == []
    page.js(
        "(() => { for (const id of ['kind-filter', 'status-filter']) { const s = document.getElementById(id);"
        " s.value = ''; s.dispatchEvent(new Event('change')); } const t = document.getElementById('site-filter');"
        " t.value = ''; t.dispatchEvent(new Event('input')); })()"
    )
    assert len(_visible_rows(page)) == 19


def test_screenshot(page: DevTools) -> None:
    page.js("window.scrollTo(0, 0)")
    height = page.js("Math.ceil(document.documentElement.scrollHeight)")
    shot = page.send(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 6000), "scale": 1},
    )
    data = base64.b64decode(shot["data"])
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report.png").write_bytes(data)
    assert (ARTIFACTS / ".gitignore").is_file()


def test_query_parameters_set_the_initial_view(report_file: Path, tmp_path: Path) -> None:
    binary = _browser()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed")
    url = report_file.as_uri() + "?kind=singleton&sort=line&dir=desc"
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    dom = done.stdout
    assert 'data-ready="true"' in dom
    assert 'data-visible="6"' in dom
    assert '<th data-key="line" data-type="number" class="num" aria-sort="descending">' in dom
