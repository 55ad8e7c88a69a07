"""`float-hooks mcp` as a real agent meets it: `agents install` writes .mcp.json, the SDK's own
client spawns the server from exactly that command, lists the tools and calls every one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning

from float_hooks.agents.outliner import HOLD_ENV
from tests.code_support import FILES
from tests.gitrepo import GitRepo
from tests.mcp_support import call, error, installed, server_params, session
from tests.waiting import wait_until

CONTRACT = {"status", "stale", "why", "show", "search", "decisions", "questions", "query",
            "set_context", "log_decision", "add_question", "resolve_question", "add_reference",
            "next_job", "submit_job", "outline", "where"}
FRESHNESS = {"status", "source_hash", "context_hash", "context_commit"}


def test_every_tool_over_stdio(synced: GitRepo) -> None:
    repo = installed(synced)

    async def body(c: Client) -> None:
        tools = (await c.list_tools()).tools
        assert {t.name for t in tools} == CONTRACT
        for t in tools:
            assert t.description and len(t.description) > 40  # written for a model
            assert t.input_schema["type"] == "object"
        status = await call(c, "status")
        cli = repo.float_json("status")
        # 5: the agents' files (.claude/ and the rest) are not mapped
        assert status["folders"] == cli["folders"] == status["pending"] == 5
        assert status["freshness"]["head"] == repo.head()
        show = await call(c, "show", path="src/auth")
        assert set(show) >= FRESHNESS and show["status"] == "pending"
        assert {ch["name"] for ch in show["children"]} == {"login.py", "tokens"}
        written = await call(c, "set_context", path="/src/auth", for_hash=show["source_hash"],
                             map_summary="login and tokens", context_why="one auth path",
                             context_patterns=["no globals"], ai_model="test-model")
        assert written["status"] == "current" and written["context_hash"] == show["source_hash"]
        hits = await call(c, "search", query="login")
        assert hits["results"][0]["id"] == "/src/auth"
        assert set(hits["results"][0]) >= FRESHNESS
        entry = await call(c, "log_decision", title="Use JWT", decision="JWT for sessions",
                           folder="src/auth", tags=["auth"])
        assert (await call(c, "decisions", tag="auth"))["decisions"][0]["uid"] == entry["uid"]
        q = await call(c, "add_question", question="Keep v1 tokens?", folder="/src/auth")
        assert (await call(c, "questions", folder="/src/auth"))["questions"][0]["id"] == q["id"]
        resolved = await call(c, "resolve_question", id=str(q["id"]), resolved_by=entry["uid"])
        assert resolved["resolved_at"]
        ref = await call(c, "add_reference", source_type="folder", source_id="src/auth",
                         target_type="url", target_id="https://example.invalid/rfc7519")
        assert ref["source_id"] == "/src/auth"
        rows = await call(c, "query", sql="SELECT path FROM folders WHERE path LIKE '/src%'"
                          " ORDER BY path", max_rows=2)
        assert [r["path"] for r in rows["rows"]] == ["/src", "/src/auth"]
        assert rows["truncated"] is True
        repo.write("src/auth/login.py", "def login(user): ...\n")  # the agent edits a file
        stale = await call(c, "stale")
        assert [f["path"] for f in stale["folders"]] == ["/src/auth"]
        assert stale["folders"][0]["changed_files"] == ["/src/auth/login.py"]
        assert set(stale["folders"][0]) >= FRESHNESS
        why = await call(c, "why", path="/src/auth")
        assert why["changed_files"][0]["change"] == "modified"
        job = await call(c, "next_job")
        assert job["id"] and job["path"].count("/") >= 2  # children first: a deepest folder
        assert {"instructions", "children", "files", "previous", "changed_since"} \
            <= set(job["request"])
        done = await call(c, "submit_job", id=job["id"],
                          answer={"map_summary": "generated", "ai_model": "agent-x"})
        assert done["written"] and done["status"] == "current"
        assert "no tool named" in await error(c, "nope")
        assert "missing required argument path" in await error(c, "why")
        assert "read-only" in await error(c, "query", sql="ATTACH DATABASE 'x.db' AS x")

    session(repo, body)
    shown = repo.float_json("show", "src/auth")
    assert shown["map_summary"] == "login and tokens" and shown["ai_model"] == "test-model"
    assert shown["decisions"][0]["title"] == "Use JWT"


def test_for_hash_guard(synced: GitRepo) -> None:
    repo = installed(synced)

    async def body(c: Client) -> None:
        old = (await call(c, "show", path="/src"))["source_hash"]
        repo.write("src/new.py", "NEW = 1\n")  # changed after the agent read it
        msg = await error(c, "set_context", path="/src", for_hash=old, map_summary="stale!")
        assert "changed since you read it" in msg and "nothing written" in msg
        assert (await call(c, "show", path="/src"))["map_summary"] is None
        fresh = (await call(c, "show", path="/src"))["source_hash"]
        assert fresh != old
        await call(c, "set_context", path="/src", for_hash=fresh, map_summary="fresh")

    session(repo, body)
    shown = repo.float_json("show", "src")
    assert shown["map_summary"] == "fresh" and shown["status"] == "current"


def test_edits_are_reflected_without_a_watcher(synced: GitRepo) -> None:
    repo = installed(synced)

    async def body(c: Client) -> None:
        assert (await call(c, "status"))["freshness"]["watching"] is False
        repo.write("docs/more.md", "# more\n")
        repo.write("docs/guide.md", "# guide, edited\n")
        show = await call(c, "show", path="docs")
        assert {ch["name"] for ch in show["children"]} == {"guide.md", "more.md"}
        assert show["freshness"]["unsynced_changes"] is False

    session(repo, body, "--no-watch")


def test_agent_regenerates_and_abandoned_claim_returns(synced: GitRepo) -> None:
    repo = installed(synced)

    async def body(c: Client) -> None:
        first = await call(c, "next_job", lease_seconds=1)
        path = first["path"]
        await anyio.sleep(1.5)  # abandoned: never submitted, lease over
        again = await call(c, "next_job", lease_seconds=60)
        assert again["path"] == path and again["id"] != first["id"]
        assert "no longer yours" in await error(c, "submit_job", id=first["id"],
                                                answer={"map_summary": "late"})
        bad = await error(c, "submit_job", id=again["id"], answer={"context_what": "x"})
        assert "map_summary" in bad
        done = await call(c, "submit_job", id=again["id"], answer={"map_summary": "ok"})
        assert done["status"] == "current"
        while (job := await call(c, "next_job"))["id"] is not None:
            await call(c, "submit_job", id=job["id"],
                       answer={"map_summary": f"summary of {job['path']}"})
        assert "empty" in job["message"]
        assert (await call(c, "status"))["pending"] == 0

    session(repo, body)
    assert repo.float_json("status")["current"] == 5


def test_subscribed_resource_is_notified_after_a_commit(synced: GitRepo) -> None:
    repo = installed(synced)
    messages: list[Any] = []

    async def body(c: Client) -> None:
        templates = (await c.list_resource_templates()).resource_templates
        assert templates[0].uri_template == "float://folder/{+path}"
        uris = {str(r.uri) for r in (await c.list_resources()).resources}
        assert {"float://boot", "float://folder/", "float://folder/src"} <= uris
        text = (await c.read_resource("float://folder/src")).contents[0].text  # type: ignore
        assert text.startswith("# /src\n") and "status: pending" in text
        boot = (await c.read_resource("float://boot")).contents[0].text  # type: ignore
        assert "Boot" in boot
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await c.subscribe_resource("float://folder/src")
        repo.write("src/app.py", "print('changed')\n")
        repo.commit("change app")
        with anyio.fail_after(30):
            while not any(getattr(getattr(m, "params", None), "uri", None)
                          == "float://folder/src" for m in messages):
                await anyio.sleep(0.05)

    session(repo, body, messages=messages)


def test_listen_stream_gets_the_update(synced: GitRepo) -> None:
    """The 2026-07-28 way: a subscriptions/listen stream."""
    repo = installed(synced)

    updated: list[str] = []

    async def body(c: Client) -> None:
        async with c.listen(resource_subscriptions=["float://folder/docs"]) as sub:
            repo.write("docs/guide.md", "# guide v2\n")
            async for event in sub:
                updated.append(event.uri)  # type: ignore[attr-defined]
                break

    session(repo, body, mode="auto", timeout=120)  # a bound: the shutdown included
    assert updated == ["float://folder/docs"]


def test_every_call_right_after_an_edit_reflects_it(synced: GitRepo) -> None:
    """Events reach the watcher's handler a moment after the write: a call made at once must
    still see the edit (the barrier), never the map as it was."""
    repo = installed(synced)

    async def body(c: Client) -> None:
        await call(c, "status")
        for i in range(40):
            repo.write(f"src/auth/gen_{i}.py", f"N = {i}\n")  # a new file each time
            names = {ch["name"] for ch in (await call(c, "show", path="/src/auth"))["children"]}
            assert f"gen_{i}.py" in names, f"edit {i} not reflected"

    session(repo, body)


async def _where(c: Client, **args: Any) -> dict[str, Any]:
    """``call`` for the tool whose argument is itself called ``name``."""
    r = await c.call_tool("where", args)
    assert not r.is_error, r.content
    data = r.structured_content
    assert data is not None and {"snapshot", "head", "unsynced_changes"} <= set(data["freshness"])
    return data


def test_agents_ask_about_code(synced: GitRepo) -> None:
    """outline and where through the SDK's client: bounded, with freshness; next_job's request
    shows the code (outlines first) within its budget."""
    for path, text in FILES.items():
        synced.write(path, text)
    synced.commit("a flask-like package")
    repo = installed(synced)

    async def body(c: Client) -> None:
        app = await call(c, "outline", path="src/flask/app.py")
        assert app["kind"] == "file" and set(app["folder"]) >= FRESHNESS
        assert [s["name"] for s in app["symbols"]][:3] == ["Flask", "__init__", "add_url_rule"]
        pkg = await call(c, "outline", path="/src/flask", limit=2)
        assert sum(len(f["symbols"]) for f in pkg["files"]) == 2 and pkg["more"] > 0
        found = await _where(c, name="Blueprint")
        assert found["places"][0]["path"] == "/src/flask/blueprints.py"
        assert found["places"][0]["doc"].startswith("Represents a blueprint")
        assert set(found["places"][0]["folder"]) >= FRESHNESS
        many = await _where(c, name="route", limit=1)
        assert len(many["places"]) == 1
        repo.write("src/flask/extra.py", "def route(): ...\n")  # an edit the agent made
        edited = await _where(c, name="route")
        assert edited["total"] == 2  # the work tree, synced before answering
        assert "limit" in await error(c, "outline", path="/src", limit="many")
        assert "missing required argument name" in await error(c, "where")
        while (job := await call(c, "next_job"))["path"] != "/src/flask":
            await call(c, "submit_job", id=job["id"], answer={"map_summary": "x"})
        request = job["request"]
        assert len(json.dumps(request)) <= 8000 * 4
        assert list(request).index("outlines") < list(request).index("files")
        lines = [ln for o in request["outlines"] for ln in o["symbols"]]
        assert any(ln.startswith("L5 class Flask(Scaffold) -- The flask object") for ln in lines)

    session(repo, body)


def test_search_answers_while_outlining_and_says_so(synced: GitRepo, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A search never waits for outlining: held back (FLOAT_HOOKS_OUTLINE_HOLD), the server
    answers from the outlines there are and says they are incomplete; let go, it outlines in
    the background until the symbols are searchable and the answer no longer says so."""
    for path, text in FILES.items():
        synced.write(path, text)
    synced.commit("a flask-like package")
    repo = installed(synced)
    hold = tmp_path / "hold-outlines"
    hold.write_text("")
    monkeypatch.setenv(HOLD_ENV, str(hold))

    def symbols(answer: dict[str, Any]) -> list[str]:
        return [h["title"] for h in answer["results"] if h["kind"] == "symbol"]

    async def body(c: Client) -> None:
        early = await call(c, "search", query="Blueprint")
        assert early["outlines"]["complete"] is False and "background" in \
            early["outlines"]["note"]
        assert not symbols(early)  # nothing outlined yet, and the search did not wait for it
        hold.unlink()
        with anyio.fail_after(60):
            while "outlines" in (late := await call(c, "search", query="Blueprint")):
                await anyio.sleep(0.1)
        assert any("Blueprint" in (t or "") for t in symbols(late))

    session(repo, body)


def test_server_exits_on_stdin_close_while_outlining(synced: GitRepo) -> None:
    """Stdin closed while the background outliner writes (many files): the server exits by
    itself (exit status 0, not the client's SIGTERM) and the map is sound."""
    body = "".join(f'def f{j}(x):\n    """doc {j}"""\n    return x\n' for j in range(150))
    for i in range(200):
        synced.write(f"src/gen/m{i:03}.py", body + f"N{i} = {i}\n")
    synced.commit("many modules")
    repo = installed(synced)
    db = repo.path / ".float" / "index.db"

    def outlined() -> int:
        with closing(sqlite3.connect(db, timeout=30)) as conn:
            return int(conn.execute("SELECT count(*) FROM outline_blobs").fetchone()[0])

    before = outlined()
    params = server_params(repo)
    proc = subprocess.Popen([params.command, *params.args], cwd=params.cwd, env=params.env,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: outlined() > before, "the background outliner to write")
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        left = 200 + before - outlined()
    finally:
        proc.kill()
        proc.wait()
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    print(f"files not outlined when the server exited: {left}")
