"""The dashboard with PostgreSQL: every web host shows the same page, read from the shared
read model (no map on the web host's disk): the repository with its head and stale folder,
and the folder tree with its context. Tokens made by `python -m webhook.tokens` in the shared
database open their repositories only, on every web host, until revoked."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.pg_server import PgServer, pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, web
from tests.webhook_support import TOKEN, Origin, tokens_cli
from webhook.access.pg_tokens import PgTokens


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
        strip = [p.split("Rendered")[0] for p in pages]  # the pages differ in their time only
        assert strip[0] == strip[1]
        assert requests.get(webs[0].url + "/dashboard", timeout=30).status_code == 401
        made = tokens_cli(env["sync"], "create", "--repo", "acme/*", "--role", "read", "--json")
        mine = json.loads(made.stdout)
        tokens = PgTokens(pg_url)  # the library the command runs, for a second token
        other = {"token": tokens.create("other/repo", "read", "")[1]}
        tokens.close()
        for w, token, sees in ((webs[0], mine, True), (webs[1], other, False)):
            r = requests.get(w.url + "/dashboard", auth=("me", token["token"]), timeout=30)
            assert r.status_code == 200 and (origin.full_name in r.text) == sees
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
