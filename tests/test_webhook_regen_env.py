"""A repository's own regenerator (FLOAT_TRUST_REPO_CONFIG=1) runs, under the real server, with
a scrubbed environment: the basics and the key variables the operator named in
FLOAT_REGEN_ENV, never the server's secrets."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from float_hooks.regen.command import CommandRegenerator
from float_hooks.regen.request import Request
from tests.webhook_support import (
    Origin,
    StubAPI,
    app_config,
    gunicorn,
    post,
    rows,
)
from webhook import create_app
from webhook.settings import SettingsError, load

SERVER_SECRETS = {"FLOAT_WEBHOOK_SECRET", "FLOAT_API_TOKEN", "FLOAT_GITHUB_TOKEN",
                  "SERVER_DB_PASSWORD", "GIT_CONFIG_PARAMETERS"}

REGEN = """\
import json, os, sys
request = json.load(sys.stdin)
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(dict(os.environ)) + "\\n")
print(json.dumps({"map_summary": "regenerated " + request["path"]}))
"""


@pytest.fixture
def stub() -> Iterator[StubAPI]:
    s = StubAPI()
    yield s
    s.close()


def test_a_trusted_command_regenerator_runs_without_the_servers_secrets(
        tmp_path: Path, stub: StubAPI) -> None:
    script, seen = tmp_path / "regen.py", tmp_path / "env.jsonl"
    script.write_text(REGEN)
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "app\n", ".float/config.toml":
                   f'[regenerate]\nkind = "command"\n'
                   f'command = "{sys.executable} {script} {seen}"\n'}, "initial")
    before, after = origin.push()
    with gunicorn(tmp_path, origin, FLOAT_TRUST_REPO_CONFIG="1", FLOAT_ON_PUSH="regenerate",
                  FLOAT_REGEN_ENV="MY_MODEL_KEY", FLOAT_GITHUB_TOKEN="ghs-server-token",
                  FLOAT_GITHUB_API_URL=stub.url, SERVER_DB_PASSWORD="hunter2",
                  GIT_CONFIG_PARAMETERS="'http.extraheader=Authorization: basic c2VjcmV0'",
                  MY_MODEL_KEY="sk-model-key", UNLISTED_KEY="sk-other") as server:
        assert server.deliver("push", origin.payload(before, after)).status_code == 202
        status = server.wait_head(after)
        # the repository's regenerator ran for every folder, under gunicorn
        assert (status["current"], status["stale"], status["pending"]) == (2, 0, 0)
        folder = server.get("/repos/acme/widgets/folders/src").json()
        assert folder["map_summary"] == "regenerated /src"
    envs = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(envs) == 2
    for env in envs:
        assert env["MY_MODEL_KEY"] == "sk-model-key"  # named by the operator
        assert "PATH" in env and "HOME" in env
        assert env["FLOAT_PATH"] in ("/", "/src")
        assert not SERVER_SECRETS & set(env), sorted(SERVER_SECRETS & set(env))
        assert "UNLISTED_KEY" not in env
        assert not [k for k in env if k.startswith("GIT_")]
    # the server itself still reported the commit status, with its own token
    (status_call,) = [r for r in stub.requests if "/statuses/" in r["path"]]
    assert status_call["headers"]["Authorization"] == "Bearer ghs-server-token"


def openai_origin(tmp_path: Path, stub: StubAPI, key_env: str) -> Origin:
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "app\n", ".float/config.toml":
                   f'[regenerate]\nkind = "openai"\nbase_url = "{stub.url}/v1"\n'
                   f'model = "m"\napi_key_env = "{key_env}"\nmax_attempts = 1\n'}, "initial")
    return origin


@pytest.mark.parametrize("key_env", ["FLOAT_API_TOKEN", "FLOAT_WEBHOOK_SECRET", "HOME",
                                     "UNLISTED_KEY"])
def test_a_repository_cannot_send_the_servers_secrets(
        tmp_path: Path, stub: StubAPI, monkeypatch: pytest.MonkeyPatch, key_env: str) -> None:
    for name, value in (("FLOAT_API_TOKEN", "api-secret"), ("FLOAT_WEBHOOK_SECRET", "wh"),
                        ("UNLISTED_KEY", "sk-other"), ("MY_MODEL_KEY", "sk-model-key")):
        monkeypatch.setenv(name, value)
    origin = openai_origin(tmp_path, stub, key_env)
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", FLOAT_ON_PUSH="regenerate",
                                FLOAT_TRUST_REPO_CONFIG="1", FLOAT_REGEN_ENV="MY_MODEL_KEY"))
    post(app.test_client(), "push", origin.payload(*origin.push()))
    app.extensions["float_worker"].run_until_idle()
    (row,) = rows(app)
    assert row["state"] == "done"
    assert stub.requests == []  # nothing reached the repository's URL
    failed = row["result"]["regenerate"]["failed"]
    assert failed and all(f"${key_env} is not set here" in f["error"] for f in failed)


def test_an_allowed_key_is_sent(tmp_path: Path, stub: StubAPI,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_MODEL_KEY", "sk-model-key")
    origin = openai_origin(tmp_path, stub, "MY_MODEL_KEY")
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", FLOAT_ON_PUSH="regenerate",
                                FLOAT_TRUST_REPO_CONFIG="1", FLOAT_REGEN_ENV="MY_MODEL_KEY"))
    post(app.test_client(), "push", origin.payload(*origin.push()))
    app.extensions["float_worker"].run_until_idle()
    assert rows(app)[0]["result"]["regenerate"]["done"] == ["/src", "/"]
    assert [r["headers"]["Authorization"] for r in stub.requests] == ["Bearer sk-model-key"] * 2


@pytest.mark.parametrize("names", ["FLOAT_API_TOKEN", "OPENAI_API_KEY,FLOAT_GITHUB_TOKEN",
                                   "GIT_ASKPASS", "NOT-A-NAME"])
def test_the_allowlist_never_names_the_servers_own(tmp_path: Path, names: str) -> None:
    with pytest.raises(SettingsError, match="FLOAT_REGEN_ENV"):
        load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path),
              "FLOAT_REGEN_ENV": names}, environ={})


def test_the_local_cli_command_sees_the_users_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # on a developer's machine the command is the user's own agent CLI, which needs their
    # keys and settings: it inherits the environment (docs/regeneration.md)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-user")
    script, seen = tmp_path / "regen.py", tmp_path / "env.jsonl"
    script.write_text(REGEN)
    regen = CommandRegenerator(f"{sys.executable} {script} {seen}", 30, tmp_path)
    regen(Request(path="/src", source_hash="0" * 64, snapshot=None, folders=[], files=[],
                  previous=None, changed=None))
    assert json.loads(seen.read_text())["ANTHROPIC_API_KEY"] == "sk-user"
