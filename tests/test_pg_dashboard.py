"""The dashboard with PostgreSQL: every web host shows the same page, read from the shared
read model (no map on the web host's disk): the repository with its head and stale folder
(since the sync that saw it go stale), each push's commit, pusher and links, the filter,
never-fetched repositories aged out, and the folder tree with its context. Tokens made by
`python -m webhook.tokens` in the shared database open their repositories only, on every
web host, until revoked."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import requests

from tests.pg_server import PgServer, pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, web
from tests.webhook_support import TOKEN, Origin, tokens_cli
from webhook.access.pg_tokens import PgTokens
from webhook.queues.pg_store import PgStore, connect_pool


def test_every_web_host_shows_the_same_dashboard(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:  # noqa: F811
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "print(1)\n", "docs/readme.md": "# r\n"}, "first")
    # context written where the code lives, exported and pushed with it
    origin.work.float_ok("init")
    origin.work.float_ok("set", "/src", "--summary", "the <app> & its entry point")
    origin.work.float_ok("export")
    origin.work.git("add", "-A")
    origin.work.commit("the map")
    env = {h: pg_env(tmp_path, h, pg_url, origin, FLOAT_ON_PUSH="queue")
           for h in ("web1", "web2", "sync")}
    webs = [web(tmp_path, "web1", env["web1"]), web(tmp_path, "web2", env["web2"])]
    worker = Proc(tmp_path, "sync", "webhook.worker", env["sync"])
    try:
        before, _ = origin.push()
        deliver(webs[0], origin, before, origin.tip("main"))
        webs[0].wait_head(origin.tip("main"))  # built first: the next sync sees /src go stale
        origin.commit({"src/app.py": "print(2)\n"}, "the app changes")
        before, after = origin.push()
        deliver(webs[1], origin, before, after)
        webs[0].wait_head(after)
        auth = ("anyone", TOKEN)  # HTTP Basic, as a browser asks for it
        pages = []
        for w in webs:
            r = requests.get(w.url + "/dashboard", auth=auth, timeout=30)
            assert r.status_code == 200, r.text
            pages.append(r.text)
            page = r.text
            assert origin.full_name in page and after[:12] in page
            # /src is stale (its context came with the export: no record of which files)
            assert '<tr class="stale-row"><th scope="row"><code>/src</code></th>' in page
            assert "the <app>" not in page  # pushed text is escaped
            r = requests.get(w.url + f"/dashboard/{origin.full_name}", auth=auth, timeout=30)
            assert r.status_code == 200, r.text
            assert "the &lt;app&gt; &amp; its entry point" in r.text  # the tree, with context
        # the pages differ in their time only (the template says "Rendered <time>.")
        strip = [re.sub(r"Rendered [^.]*\.", "", p) for p in pages]
        assert strip[0] == strip[1]
        page = pages[0]
        assert f'href="https://github.com/{origin.full_name}/commit/{after}"' in page
        assert f'/compare/{before[:12]}...{after[:12]}"' in page
        assert '<span class="subject">the app changes</span>' in page
        assert '<td class="pusher">tester</td>' in page
        assert f"the sync of <code>{after[:12]}</code>" in page  # /src went stale then
        store = PgStore(connect_pool(pg_url))
        try:  # a repository that never fetched, its last delivery 8 days ago
            store.record("old-one", "push", "acme/never", "acme/never", ref="refs/heads/main")
            with store.connection() as conn:
                conn.execute("UPDATE float_deliveries SET received_at = %s WHERE repo ="
                             " 'acme/never'", (time.time() - 8 * 86400,))
        finally:
            store.pool.close()

        def shown(query: str) -> bool:
            r = requests.get(webs[1].url + "/dashboard" + query, auth=auth, timeout=30)
            assert r.status_code == 200, r.text
            assert 'data-repo="acme/never"' not in r.text
            return f'data-repo="{origin.full_name}"' in r.text

        assert shown("") and shown("?state=stale") and shown("?state=done&repo=WIDG")
        assert not shown("?state=current") and not shown("?repo=gadg")
        assert not shown("?state=failed") and not shown("?state=retrying")
        assert requests.get(webs[1].url + "/dashboard?state=bogus", auth=auth,
                            timeout=30).status_code == 400
        assert requests.get(webs[0].url + "/dashboard", timeout=30).status_code == 401
        made = tokens_cli(env["sync"], "create", "--repo", "acme/*", "--role", "read", "--json")
        mine = json.loads(made.stdout)
        tokens = PgTokens(pg_url)  # the library the command runs, for a second token
        other = {"token": tokens.create("other/repo", "read", "")[1]}
        tokens.close()
        for w, token, sees in ((webs[0], mine, True), (webs[1], other, False)):
            r = requests.get(w.url + "/dashboard", auth=("me", token["token"]), timeout=30)
            assert r.status_code == 200 and (origin.full_name in r.text) == sees
            # acme/never, aged out: counted for the token that covers it only
            assert ("1 that never fetched" in r.text) == sees
            r = requests.get(w.url + f"/repos/{origin.full_name}/status", timeout=30,
                             headers={"Authorization": f"Bearer {token['token']}"})
            assert r.status_code == (200 if sees else 403)
        assert tokens_cli(env["sync"], "revoke", mine["id"]).returncode == 0
        r = requests.get(webs[1].url + "/dashboard", auth=("me", mine["token"]), timeout=30)
        assert r.status_code == 401  # revoked on one host: refused on every host
    finally:
        worker.stop()
        for w in webs:
            w.stop()
