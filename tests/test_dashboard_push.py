"""What the dashboard shows of each push, in the app itself (no worker: the test drives the
real queue): the head commit's subject, the pusher, links to the commit and compare view on
the repository's GitHub page, short delivery ids; hostile payload fields bounded, escaped or
refused at intake; the query-string filter; retrying deliveries with their next attempt;
never-fetched repositories aging out of the overview. The pages in a browser, and a map's
stale and current folders, are test_dashboard.py's."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.webhook_support import TOKEN, app_config, post
from webhook import create_app
from webhook.dashboard.shape import add_stale_since, when
from webhook.intake.push_fields import MAX_SUBJECT
from webhook.queues.sqlite_queue import SCHEMA, Queue
from webhook.settings import SettingsError, load

SHA1, SHA2, SHA3 = "1" * 40, "2" * 40, "3" * 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE_SUBJECT = "<script>window.pwned=1</script>" + "x" * 100_000
HOSTILE_PUSHER = '<img src=x onerror="window.pwned=2">\u202e\x07'


def payload(full_name: str, *, message: Any = "Fix the parser\n\nThe long story.",
            pusher: Any = None, html_url: Any = None, before: str = SHA1,
            after: str = SHA2) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main", "before": before, "after": after,
        "head_commit": {"id": after, "message": message},
        "pusher": {"name": "alice"} if pusher is None else pusher,
        "compare": "javascript:alert(1)",  # never read: the links are built, not taken
        "repository": {"full_name": full_name, "default_branch": "main",
                       "html_url": f"https://github.com/{full_name}"
                       if html_url is None else html_url},
    }


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return create_app(app_config(tmp_path, FLOAT_WORKER="off"))


def page(app: Any, query: str = "") -> str:
    r = app.test_client().get("/dashboard" + query, headers=AUTH)
    assert r.status_code == 200, r.text
    return str(r.text)


def test_push_fields_are_kept_checked_and_shown(tmp_path: Path, app: Any) -> None:
    client = app.test_client()
    sent = {
        "acme/widgets": payload("acme/widgets"),
        "acme/evil": payload("acme/evil", message=HOSTILE_SUBJECT, pusher={
            "name": HOSTILE_PUSHER}, html_url="javascript:alert(1)//github.com/acme/evil"),
        "acme/elsewhere": payload("acme/elsewhere", html_url="https://evil.example/acme/elsewhere",
                                  message={"not": "text"}, pusher=["x"]),
        "acme/other": payload("acme/other", html_url="https://github.com/acme/widgets",
                              before="0" * 40),
    }
    for name, body in sent.items():
        assert post(client, "push", body).status_code == 202, name
    rows = {r["repo"]: r for r in Queue(tmp_path / "data").rows()}
    assert (rows["acme/widgets"]["head_subject"], rows["acme/widgets"]["pusher"],
            rows["acme/widgets"]["html_url"]) == (
        "Fix the parser", "alice", "https://github.com/acme/widgets")
    evil = rows["acme/evil"]
    assert len(evil["head_subject"]) == MAX_SUBJECT and evil["head_subject"].endswith("\u2026")
    assert evil["pusher"] == '<img src=x onerror="window.pwned=2">'  # control characters gone
    assert evil["html_url"] is None  # not an https page on GitHub
    assert rows["acme/elsewhere"]["html_url"] is None  # another host
    assert rows["acme/elsewhere"]["head_subject"] is None and rows["acme/elsewhere"][
        "pusher"] is None
    assert rows["acme/other"]["html_url"] is None  # another repository's page

    html = page(app)
    widgets = html.split('data-repo="acme/widgets"')[1].split("</section>")[0]
    assert f'href="https://github.com/acme/widgets/commit/{SHA2}"' in widgets
    assert (f'href="https://github.com/acme/widgets/compare/{SHA1[:12]}...{SHA2[:12]}"'
            in widgets)
    assert '<span class="subject">Fix the parser</span>' in widgets
    assert '<td class="pusher">alice</td>' in widgets
    delivery = rows["acme/widgets"]["delivery"]
    assert f'<code title="{delivery}">{delivery[:8]}</code>' in widgets  # short, whole in title
    assert "javascript:" not in html and "<script>window" not in html and "<img src" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "x" * MAX_SUBJECT not in html  # bounded
    other = html.split('data-repo="acme/other"')[1].split("</section>")[0]
    assert "commit-link" not in other and "compare-link" not in other


def test_filter_retrying_and_aging_out(tmp_path: Path, app: Any) -> None:
    client = app.test_client()
    for name in ("acme/widgets", "acme/gadgets", "other/tools"):
        assert post(client, "push", payload(name)).status_code == 202
    q = Queue(tmp_path / "data")
    try:
        # the real queue's paths: a done delivery, one that gave up, one waiting to retry
        done = q.claim("w", 60)
        assert done is not None and done.repo == "acme/widgets"
        q.finish(done.id, "w", "done", {"sync": {"head": SHA2}})
        failed = q.claim("w", 60)
        assert failed is not None and failed.repo == "acme/gadgets"
        q.fail(failed.id, "w", "fetch failed", retry_in=None)
        again = q.claim("w", 60)
        assert again is not None and again.repo == "other/tools"
        q.fail(again.id, "w", "the mirror is busy", retry_in=30)
    finally:
        q.close()

    html = page(app)
    tools = html.split('data-repo="other/tools"')[1].split("</section>")[0]
    assert '<span class="status status-retrying">retrying</span>' in tools
    assert "next attempt in 30 s" in tools or "next attempt in 29 s" in tools

    def shown(query: str) -> list[str]:
        text = page(app, query)
        found = [n for n in ("acme/widgets", "acme/gadgets", "other/tools")
                 if f'data-repo="{n}"' in text]
        return sorted(found, key=lambda n: text.index(f'data-repo="{n}"'))  # as the page has

    assert shown("?state=retrying") == ["other/tools"]
    assert shown("?state=failed") == ["acme/gadgets"]
    assert shown("?state=done") == ["acme/widgets"]
    assert shown("?state=queued") == []
    assert shown("?repo=ACME") == ["acme/gadgets", "acme/widgets"]  # most recent first
    assert shown("?repo=acme&state=failed") == ["acme/gadgets"]
    assert shown("?repo=%25") == []  # a substring, not a pattern
    for bad in ("?state=bogus", "?repo=" + "a" * 101):
        assert client.get("/dashboard" + bad, headers=AUTH).status_code == 400

    # never fetched and no delivery for more than FLOAT_DASHBOARD_UNFETCHED_DAYS (7): gone
    # from the overview; a repository that fetched once stays however old
    conn = sqlite3.connect(tmp_path / "data" / "deliveries.db")
    with conn:
        conn.execute("UPDATE deliveries SET received_at = ? WHERE repo IN"
                     " ('acme/gadgets', 'acme/widgets')", (time.time() - 8 * 86400,))
    conn.close()
    assert shown("") == ["other/tools", "acme/widgets"]
    assert "1 that never fetched and had no delivery for 7 days is not shown" in page(app)
    assert client.get("/dashboard/acme/gadgets", headers=AUTH).status_code == 200


def test_the_web_host_links_point_at_follows_the_api_url() -> None:
    from webhook.intake.push_fields import repository_page, web_host

    assert web_host("https://api.github.com") == "github.com"
    assert web_host("https://api.acme.ghe.com") == "acme.ghe.com"  # data residency
    assert web_host("https://ghe.example/api/v3") == "ghe.example"  # Enterprise Server
    assert web_host("https://api.corp.example/api/v3") == "api.corp.example"
    page = {"html_url": "https://acme.ghe.com/acme/widgets"}
    assert repository_page(page, "acme/widgets", "https://api.acme.ghe.com") \
        == "https://acme.ghe.com/acme/widgets"
    assert repository_page(page, "acme/widgets", "https://api.github.com") is None


def test_unfetched_days_setting(tmp_path: Path) -> None:
    base = app_config(tmp_path)
    assert load(base).dashboard_unfetched_seconds == 7 * 86400
    assert load({**base, "FLOAT_DASHBOARD_UNFETCHED_DAYS": "0.5"}
                ).dashboard_unfetched_seconds == 43200
    for bad in ("-1", "nan", "soon"):
        with pytest.raises(SettingsError):
            load({**base, "FLOAT_DASHBOARD_UNFETCHED_DAYS": bad})


def test_the_new_schema_step_on_an_older_queue(tmp_path: Path) -> None:
    """A deliveries.db from before the step keeps its rows and gains the columns, once."""
    tmp_path.mkdir(exist_ok=True)
    conn = sqlite3.connect(tmp_path / "deliveries.db")
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO deliveries(delivery, kind, repo, full_name, received_at)"
                 " VALUES ('old', 'push', 'acme/widgets', 'acme/widgets', 1)")
    conn.commit()
    conn.close()
    for _ in range(2):
        q = Queue(tmp_path)
        try:
            assert [r["delivery"] for r in q.rows()] == ["old"]
            assert q.rows()[0]["head_subject"] is None
            steps = q.conn.execute("SELECT name FROM schema_steps").fetchall()
            assert [s[0] for s in steps] == ["delivery head commit, pusher and repository page"]
        finally:
            q.close()


def test_stale_since_says_only_what_is_recorded() -> None:
    """A folder is stale since the latest sync that listed it going stale; past a sync whose
    list was cut short nothing is certain, and the page says what the map records instead."""
    stale: list[dict[str, Any]] = [{"path": "/a"}, {"path": "/b"}, {"path": "/c"}]
    syncs = [{"finished_at": 200, "head": "b" * 40, "listed": ["/b"], "count": 60},  # cut
             {"finished_at": 100, "head": "a" * 40, "listed": '["/a", "/c"]', "count": 2}]
    add_stale_since(stale, iter(syncs), {"/a": {"context_commit": "c" * 40,
                                                "ai_updated": "2026-01-01T00:00:00Z"}})
    a, b, c = stale
    assert (b["since"], b["since_commit"], b["since_note"]) == (when(200), "b" * 12, "")
    assert a["since"] == "" and a["since_note"] == (
        "not recorded: a change after its context (commit cccccccccccc, written"
        " 2026-01-01T00:00:00Z)")
    assert c["since"] == "" and c["since_note"] == "not recorded: a change after its context"
    whole = [{"path": "/a"}]
    add_stale_since(whole, iter(syncs[1:]), {})
    assert whole[0]["since"] == when(100) and whole[0]["since_commit"] == "a" * 12
