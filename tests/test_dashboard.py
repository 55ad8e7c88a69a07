"""The dashboard: server-rendered pages behind Basic/bearer auth, hostile content escaped, and
in a real headless Chromium (Debian's, driven by Playwright) the page loads, shows the stale
folder and updates without a reload after a push."""

from __future__ import annotations

import base64
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from float_hooks.store.db import Store
from float_hooks.store.folder_context import set_context
from tests.browser_support import ARGS, chromium
from tests.waiting import wait_until
from tests.webhook_support import TOKEN, Gunicorn, Origin, gunicorn
from webhook.queues.sqlite_queue import Queue

HOSTILE = '<img src=x onerror="window.pwned=1">'
SCRIPT = "<script>window.pwned=2</script> & more"


def basic(user: str = "ops", password: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"src/app.py": "print('hi')\n", "docs/guide.md": "# guide\n",
              f"odd/{HOSTILE}/x.txt": "x\n"}, "first")
    o.push()
    return o


@pytest.fixture
def server(tmp_path: Path, origin: Origin) -> Iterator[Gunicorn]:
    with gunicorn(tmp_path, origin, FLOAT_ON_PUSH="queue") as s:
        yield s


def push(server: Gunicorn, origin: Origin, files: dict[str, str]) -> str:
    origin.commit(files)
    before, after = origin.push()
    r = server.deliver("push", origin.payload(before, after), str(uuid.uuid4()))
    assert r.status_code == 202, r.text
    server.wait_head(after)
    return after


def write_context(tmp_path: Path) -> None:
    """Context for every folder, as an agent would write it: hostile text included."""
    store = Store.open(tmp_path / "data" / "acme" / "widgets" / "index.db")
    try:
        for (path,) in store.conn.execute("SELECT path FROM folders").fetchall():
            set_context(store, path, {"map_summary": f"summary of {path}",
                                      "context_what": SCRIPT}, model="test-model")
    finally:
        store.close()


@pytest.fixture
def stale_map(tmp_path: Path, server: Gunicorn, origin: Origin) -> str:
    """A map with context everywhere, then a push that makes /src stale; returns the head."""
    first = origin.tip("main")
    r = server.deliver("push", origin.payload("0" * 40, first), str(uuid.uuid4()))
    assert r.status_code == 202
    server.wait_head(first)
    write_context(tmp_path)
    return push(server, origin, {"src/app.py": "print('changed')\n"})


def test_pages_need_the_token(server: Gunicorn) -> None:
    for headers in ({}, basic(password="wrong"), {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic !!!"}):
        r = requests.get(server.url + "/dashboard", headers=headers, timeout=30)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    r = requests.get(server.url + "/dashboard/events", timeout=30)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    for headers in (basic(), {"Authorization": f"Bearer {TOKEN}"}):
        r = requests.get(server.url + "/dashboard", headers=headers, timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    # the script and style sheet are served from the package, to anyone
    assert requests.get(server.url + "/dashboard/static/dashboard.js",
                        timeout=30).status_code == 200
    assert requests.get(server.url + "/dashboard/acme/..%2f", headers=basic(),
                        timeout=30).status_code in (400, 404)
    assert requests.get(server.url + "/dashboard/acme/never", headers=basic(),
                        timeout=30).status_code == 404


def test_pages_escape_pushed_content(server: Gunicorn, stale_map: str) -> None:
    html = requests.get(server.url + "/dashboard", headers=basic(), timeout=30).text
    assert "<h1>Repositories</h1>" in html and "acme/widgets" in html
    assert stale_map[:12] in html
    assert "<code>/src</code>" in html and "<code>/src/app.py</code>" in html  # stale, why
    page = requests.get(server.url + "/dashboard/acme/widgets", headers=basic(),
                        timeout=30).text
    assert "&lt;script&gt;window.pwned=2&lt;/script&gt; &amp; more" in page
    assert "&lt;img src=x onerror=&#34;window.pwned=1&#34;&gt;" in page
    for text in (html, page):
        assert "<script>window" not in text and "<img src=x" not in text


def _browser(tmp_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as p:
        # Playwright runs it headless with a fresh profile (user data dir) of its own
        browser = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    yield from _browser(tmp_path)


def test_dashboard_in_a_browser_updates_after_a_push(tmp_path: Path, server: Gunicorn,
                                                     origin: Origin, stale_map: str,
                                                     browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(http_credentials={"username": "ops", "password": TOKEN},
                                  viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/dashboard")
    expect(page.get_by_role("heading", name="Repositories", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="acme/widgets")).to_be_visible()
    stale = page.get_by_role("table", name="Stale folders (2)")
    expect(stale).to_contain_text("/src/app.py")  # why /src is stale
    expect(stale.get_by_role("rowheader", name="/src", exact=True)).to_be_visible()
    expect(page.locator(".counts")).to_contain_text(stale_map[:12])
    wait_until(lambda: page.evaluate("document.body.dataset.live") == "on",
             "the page to follow the event stream", 60)
    page.evaluate("window.notReloaded = true")

    head = push(server, origin, {"docs/guide.md": "# guide, v2\n"})
    expect(page.locator(".counts")).to_contain_text(head[:12], timeout=60_000)
    expect(page.get_by_role("table", name="Stale folders (3)")).to_contain_text(
        "/docs/guide.md", timeout=60_000)
    expect(page.locator("#live")).to_contain_text("Updated")
    assert page.evaluate("window.notReloaded") is True  # updated in place, not reloaded
    if os.environ.get("DASHBOARD_SCREENSHOT"):  # docs/dashboard.png is made this way
        page.screenshot(path=os.environ["DASHBOARD_SCREENSHOT"], full_page=True)

    # the repository page: the tree with each folder's context, hostile text shown as text
    page.get_by_role("link", name="acme/widgets").click()
    expect(page.get_by_role("heading", name="acme/widgets", level=1)).to_be_visible()
    tree = page.get_by_role("table", name="Folders")
    expect(tree.get_by_role("rowheader", name=HOSTILE)).to_be_visible()
    page.get_by_text("summary of /docs", exact=True).click()
    expect(page.locator("details[open]").get_by_text(SCRIPT)).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert errors == []
    context.close()


def test_dashboard_without_javascript(tmp_path: Path, server: Gunicorn, origin: Origin,
                                      stale_map: str, browser: object) -> None:
    """The page as served: each delivery's commit (subject, pusher, links to the commit and
    the compare view), since when each folder is stale, the filter as a plain form, a
    repository that never fetched gone after FLOAT_DASHBOARD_UNFETCHED_DAYS, and a hostile
    push's fields shown as text with no link."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    # a push to another branch (recorded, ignored) whose payload is hostile
    hostile = origin.payload(stale_map, stale_map, ref="other")
    hostile["head_commit"]["message"] = HOSTILE + "\n" + SCRIPT
    hostile["pusher"]["name"] = SCRIPT
    hostile["repository"]["html_url"] = "javascript:window.pwned=3//"
    assert server.deliver("push", hostile).status_code == 202
    q = Queue(tmp_path / "data")
    try:  # a repository whose mirror never fetched, its last delivery 8 days ago
        q.record("old-one", "push", "acme/never", "acme/never", ref="refs/heads/main")
        with q.conn:
            q.conn.execute("UPDATE deliveries SET received_at = ? WHERE repo = 'acme/never'",
                           (time.time() - 8 * 86400,))
    finally:
        q.close()

    context = browser.new_context(java_script_enabled=False,
                                  http_credentials={"username": "ops", "password": TOKEN})
    page = context.new_page()
    page.goto(server.url + "/dashboard")
    stale = page.get_by_role("table", name="Stale folders (2)")
    expect(stale).to_contain_text("/src/app.py")
    src = stale.get_by_role("row").filter(has=page.get_by_role("rowheader", name="/src",
                                                                exact=True))
    expect(src.locator("td.since")).to_contain_text(f"the sync of {stale_map[:12]}")
    deliveries = page.get_by_role("table", name="Last deliveries")
    expect(deliveries).to_contain_text("done")
    pushed = deliveries.get_by_role("row").filter(has_text="refs/heads/main").first
    commit = pushed.get_by_role("link", name=stale_map[:12])
    expect(commit).to_have_attribute(
        "href", f"https://github.com/acme/widgets/commit/{stale_map}")
    expect(pushed.get_by_role("link", name="compare")).to_have_attribute(
        "href", re.compile(r"^https://github\.com/acme/widgets/compare/[0-9a-f]{12}\.\.\."
                           + stale_map[:12] + "$"))
    expect(pushed.locator(".subject")).to_have_text("change")
    expect(pushed.locator(".pusher")).to_have_text("tester")
    # the hostile push: its subject and pusher as text, its page refused, nothing run
    other = deliveries.get_by_role("row").filter(has_text="refs/heads/other")
    expect(other.locator(".subject")).to_have_text(HOSTILE)
    expect(other.locator(".pusher")).to_have_text(SCRIPT)
    assert other.get_by_role("link").count() == 0
    assert page.locator("a[href^='javascript'], img[src='x'], main script").count() == 0
    # never fetched, and quiet for longer than FLOAT_DASHBOARD_UNFETCHED_DAYS: not shown
    expect(page.get_by_role("link", name="acme/widgets")).to_be_visible()
    assert page.get_by_role("link", name="acme/never").count() == 0
    expect(page.locator("#shown")).to_contain_text("1 that never fetched")

    # the filter: a form that works without JavaScript, its answer a link
    page.get_by_label("Repository").fill("WIDG")
    page.get_by_label("State").select_option("stale")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/dashboard?repo=WIDG&state=stale")
    expect(page.get_by_role("link", name="acme/widgets")).to_be_visible()
    expect(page.get_by_label("Repository")).to_have_value("widg")
    for query in ("state=current", "repo=gadg", "state=failed"):
        page.goto(server.url + "/dashboard?" + query)
        expect(page.locator("#shown")).to_contain_text("0 repositories")
        assert page.get_by_role("link", name="acme/widgets").count() == 0
    page.goto(server.url + "/dashboard?state=done&repo=acme")
    expect(page.get_by_role("link", name="acme/widgets")).to_be_visible()
    context.close()
