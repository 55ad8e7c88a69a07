"""What a regenerator may answer, through `float-hooks regenerate`: the command template's
``{path}``, an agent CLI's ``{"result": ...}`` envelope, a fenced JSON block in prose, ``null``
keeping the stored value; and an OpenAI-compatible endpoint with ``api_key_env = ""``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, script

# Answers with the text of the file named by argv[1], @PATH@ replaced by argv[2]; logs argv.
AGENT = """\
import json, sys
request = json.load(sys.stdin)
with open(sys.argv[1] + ".argv", "a") as log:
    log.write(json.dumps({"argv": sys.argv[2:], "path": request["path"]}) + "\\n")
sys.stdout.write(open(sys.argv[1]).read().replace("@PATH@", request["path"]))
"""


def agent(repo: GitRepo, tmp_path: Path, answer: str, args: str = "{path}") -> Path:
    """Configure the command regenerator to answer ``answer``; returns the answer file."""
    answer_file = tmp_path / "answer.txt"
    answer_file.write_text(answer)
    configure(repo, kind="command",
              command=f"{script(tmp_path, 'agent.py', AGENT)} {answer_file} {args}")
    return answer_file


def argv_log(answer_file: Path) -> list[dict[str, object]]:
    text = Path(str(answer_file) + ".argv").read_text()
    return [json.loads(line) for line in text.splitlines()]


def fields(**values: object) -> str:
    return json.dumps({"map_summary": "summary of @PATH@", **values})


def test_path_in_the_template_is_each_jobs_folder(synced: GitRepo, tmp_path: Path) -> None:
    answer = agent(synced, tmp_path, fields(), args="{path} --folder={path} fixed")
    r = synced.float_json("regenerate", "/src/auth")
    assert r["done"] == ["/src/auth/tokens", "/src/auth"]
    assert argv_log(answer) == [
        {"argv": [p, f"--folder={p}", "fixed"], "path": p}
        for p in ("/src/auth/tokens", "/src/auth")]
    assert folder(synced, "/src/auth")["map_summary"] == "summary of /src/auth"


def test_an_agent_clis_result_envelope_is_unwrapped(synced: GitRepo, tmp_path: Path) -> None:
    # e.g. `claude -p --output-format json`: the answer is a string inside "result"
    envelope = {"type": "result", "is_error": False, "total_cost_usd": 0.01,
                "result": fields(context_what="what @PATH@")}
    agent(synced, tmp_path, json.dumps(envelope))
    assert synced.float_json("regenerate", "/docs")["done"] == ["/docs"]
    row = folder(synced, "/docs")
    assert (row["map_summary"], row["context_what"]) == ("summary of /docs", "what /docs")
    assert row["status"] == "current"


def test_a_fenced_json_block_in_prose_is_read(synced: GitRepo, tmp_path: Path) -> None:
    # braces in the prose around it: only the fence says where the answer is
    prose = ("I read {the folder} and wrote this:\n```json\n"
             + fields(context_patterns=["one topic a page"])
             + "\n```\nAnything else? {just ask}\n")
    agent(synced, tmp_path, json.dumps({"result": prose}))
    assert synced.float_json("regenerate", "/docs")["done"] == ["/docs"]
    row = folder(synced, "/docs")
    assert row["map_summary"] == "summary of /docs"
    assert row["context_patterns"] == ["one topic a page"]
    # the same fence straight on stdout
    synced.write("docs/guide.md", "# guide v2\n")
    synced.float_ok("sync")
    agent(synced, tmp_path, prose.replace("summary of", "second summary of"))
    assert synced.float_json("regenerate", "/docs")["done"] == ["/docs"]
    assert folder(synced, "/docs")["map_summary"] == "second summary of /docs"


def test_a_null_field_keeps_the_stored_value(synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("set", "/docs", "--summary", "old summary", "--what", "kept what",
                    "--why", "kept why", "--patterns", "kept pattern")
    synced.write("docs/guide.md", "# guide v2\n")
    synced.float_ok("sync")
    agent(synced, tmp_path, fields(context_what=None, context_why="new why",
                                   context_patterns=None, map_children=None))
    assert synced.float_json("regenerate", "/docs")["done"] == ["/docs"]
    row = folder(synced, "/docs")
    assert row["status"] == "current"
    assert (row["map_summary"], row["context_why"]) == ("summary of /docs", "new why")
    assert (row["context_what"], row["context_patterns"]) == ("kept what", ["kept pattern"])


URL = "http://127.0.0.1:11434/v1/chat/completions"  # a local server (Ollama, vLLM, ...)


@responses.activate
def test_an_empty_api_key_env_sends_no_key(synced: GitRepo,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    configure(synced, kind="openai", base_url="http://127.0.0.1:11434/v1", model="llama3",
              api_key_env="", max_attempts=1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-be-sent")  # the default's variable
    answer = json.dumps({"map_summary": "local summary"})
    responses.post(URL, json={"model": "llama3", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": answer}}]})
    assert synced.float_json("regenerate", "/docs")["done"] == ["/docs"]
    [call] = responses.calls
    assert "Authorization" not in call.request.headers
    assert "sk-must-not-be-sent" not in str(call.request.headers)
    assert folder(synced, "/docs")["map_summary"] == "local summary"
