"""Anchors over MCP, through the SDK's own client and the server `agents install` registers:
the write tools and submit_job answers take `anchors`, a bad one is refused (nothing written),
and show, why and search carry the states."""

from __future__ import annotations

from mcp import Client

from tests.gitrepo import GitRepo
from tests.mcp_support import call, error, installed, session

CODE = "def issue(token):\n    return token\n\n\ndef revoke(token):\n    return None\n"


def test_agents_write_and_read_anchors(synced: GitRepo) -> None:
    synced.write("src/auth/tokens/jwt.py", CODE)
    synced.commit("tokens")
    repo = installed(synced)

    async def body(c: Client) -> None:
        show = await call(c, "show", path="/src/auth/tokens")
        msg = await error(c, "set_context", path="/src/auth/tokens",
                          for_hash=show["source_hash"], map_summary="tokens",
                          anchors=["/src/auth/tokens/jwt.py::nope"])
        assert "no such symbol" in msg
        assert (await call(c, "show", path="/src/auth/tokens"))["map_summary"] is None
        written = await call(c, "set_context", path="/src/auth/tokens",
                             for_hash=show["source_hash"], map_summary="tokens",
                             anchors=["src/auth/tokens/jwt.py::issue"])
        assert written["anchors"][0]["anchor"] == "/src/auth/tokens/jwt.py::issue"
        entry = await call(c, "log_decision", title="tokens are opaque",
                           anchors=["/src/auth/tokens/jwt.py::revoke", "/src/auth"])
        assert [a["kind"] for a in entry["anchors"]] == ["symbol", "folder"]
        q = await call(c, "add_question", question="rotate keys?",
                       anchors=["/src/auth/tokens/jwt.py"])
        assert q["anchors"][0]["kind"] == "file"
        ref = await call(c, "add_reference", source_type="folder", source_id="/src/auth",
                         target_type="url", target_id="https://example.invalid",
                         anchors=["/src/auth/login.py"])
        assert ref["anchors"][0]["anchor"] == "/src/auth/login.py"
        assert "must be an array of strings" in await error(
            c, "log_decision", title="x", anchors=[{"anchor": "/src"}])
        # the agent edits the revoked function: flagged where it reads
        repo.write("src/auth/tokens/jwt.py", CODE.replace("return None", "return False"))
        shown = await call(c, "show", path="/src/auth/tokens")
        assert shown["anchor_states"][0]["state"] == "ok"
        assert "may still hold" in shown["anchor_signal"]
        why = await call(c, "why", path="/src/auth")
        flagged = {r["uid"]: r for r in why["anchored_records"]}
        assert flagged[entry["uid"]]["anchors_flagged"][0]["state"] == "changed"
        assert "+    return False" in flagged[entry["uid"]]["anchors_flagged"][0]["diff"]
        listed = (await call(c, "decisions"))["decisions"]
        assert listed[0]["anchors_flagged"][0]["anchor"] == "/src/auth/tokens/jwt.py::revoke"
        asked = (await call(c, "questions"))["questions"][0]
        assert asked["anchor_states"][0]["state"] == "changed"  # the file changed
        hits = await call(c, "search", query="opaque")
        hit = next(h for h in hits["results"] if h["id"] == entry["uid"])
        assert {s["anchor"]: s["state"] for s in hit["anchor_states"]} == {
            "/src/auth/tokens/jwt.py::revoke": "changed", "/src/auth": "changed"}
        # a job's answer may anchor its claims
        job = await call(c, "next_job")
        assert "anchors" in await error(c, "submit_job", id=job["id"],
                                        answer={"map_summary": "s", "anchors": "src"})
        bad = await error(c, "submit_job", id=job["id"],
                          answer={"map_summary": "s", "anchors": ["/src/nope.py"]})
        assert "no such file or folder" in bad
        done = await call(c, "submit_job", id=job["id"],
                          answer={"map_summary": "answered", "anchors": [job["path"]]})
        assert done["written"]
        answered = await call(c, "show", path=job["path"])
        assert answered["anchors"] == [{"anchor": job["path"], "kind": "folder",
                                        "hash": answered["source_hash"]}]

    session(repo, body)
