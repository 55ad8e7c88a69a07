"""What the webhook tests share: a local bare repository standing in for GitHub (Origin),
GitHub-shaped payloads and signed posts, the app's configuration, bounded waits, and the
production command (docs/server.md) run for real (Gunicorn). Not a test module: nothing here is
collected."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.gitrepo import PROJECT_ROOT, GitRepo, init_repo
from tests.waiting import wait_until
from webhook.intake.github import signature
from webhook.queues.sqlite_queue import Queue

SECRET = "test-secret"
TOKEN = "api-token"
ZERO = "0" * 40
T = TypeVar("T")


class Origin:
    """A bare repository standing in for GitHub, and a clone to push commits from."""

    def __init__(self, root: Path, full_name: str = "acme/widgets"):
        self.root = root
        self.full_name = full_name
        self.bare = root / "origin" / f"{full_name}.git"
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        init_repo(self.bare.parent).git("init", "-q", "--bare", str(self.bare))
        # GitHub lets an admin delete (and re-create) the default branch; so must the stand-in
        GitRepo(self.bare).git("config", "receive.denyDeleteCurrent", "ignore")
        self.work = init_repo(root / "work" / full_name)
        self.work.git("remote", "add", "origin", str(self.bare))
        self.messages: dict[str, str] = {}  # commit id: message, for the payloads

    @property
    def template(self) -> str:
        return str(self.root / "origin") + "/{full_name}.git"

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for rel, content in files.items():
            self.work.write(rel, content)
        sha = self.work.commit(message)
        self.messages[sha] = message
        return sha

    def push(self, ref: str = "main", *, force: bool = False) -> tuple[str, str]:
        """Push the work clone's HEAD to ``ref``; returns (before, after) as GitHub reports."""
        before = self.tip(ref)
        args = ["push", "-q", "origin", f"HEAD:refs/heads/{ref}"]
        if force:
            args.insert(2, "--force")
        self.work.git(*args)
        return before, self.tip(ref)

    def delete(self, ref: str) -> str:
        before = self.tip(ref)
        self.work.git("push", "-q", "origin", f":refs/heads/{ref}")
        return before

    def tip(self, ref: str) -> str:
        out = GitRepo(self.bare).git("rev-parse", "--verify", "--quiet", f"refs/heads/{ref}",
                                     check=False).strip()
        return out or ZERO

    def payload(self, before: str, after: str, ref: str = "main", *,
                default_branch: str = "main", forced: bool = False,
                commits: int | None = None) -> dict[str, Any]:
        """A push payload with the fields GitHub sends that the server reads."""
        owner, name = self.full_name.split("/")
        n = commits if commits is not None else (0 if after == ZERO else 1)
        return {
            "ref": f"refs/heads/{ref}", "before": before, "after": after,
            "created": before == ZERO, "deleted": after == ZERO, "forced": forced,
            "base_ref": None, "compare": f"https://github.com/{self.full_name}/compare",
            "commits": [{"id": after, "message": f"c{i}", "distinct": True} for i in range(n)],
            "head_commit": None if after == ZERO else {
                "id": after, "message": self.messages.get(after, "change")},
            "repository": {"id": 1, "name": name, "full_name": self.full_name,
                           "html_url": f"https://github.com/{self.full_name}",
                           "owner": {"login": owner, "name": owner},
                           "default_branch": default_branch, "private": False},
            "pusher": {"name": "tester"}, "sender": {"login": "tester"},
        }


def app_config(tmp: Path, origin: Origin | None = None, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "FLOAT_WEBHOOK_SECRET": SECRET,
        "FLOAT_DATA_DIR": str(tmp / "data"),
        "FLOAT_API_TOKEN": TOKEN,
        "FLOAT_ON_PUSH": "queue",
        "FLOAT_POLL_SECONDS": "0.2",
        "TESTING": True,
    }
    if origin is not None:
        cfg["FLOAT_GIT_URL_TEMPLATE"] = origin.template
    cfg.update(extra)
    return cfg


def signed(body: bytes, event: str, delivery: str | None = None,
           secret: str = SECRET, content_type: str = "application/json") -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(secret.encode(), body),
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/test",
    }


def post(client: FlaskClient, event: str, payload: Any, *, delivery: str | None = None,
         form: bool = False) -> Any:
    if form:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = signed(body, event, delivery, content_type="application/x-www-form-urlencoded")
    else:
        body = json.dumps(payload).encode()
        headers = signed(body, event, delivery)
    return client.post("/webhook", data=body, headers=headers)


def queue_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Every delivery row of the queue in ``data_dir``, oldest first."""
    q = Queue(data_dir)
    try:
        return q.rows()
    finally:
        q.close()


def rows(app: Flask) -> list[dict[str, Any]]:
    return queue_rows(app.extensions["float_settings"].data_dir)


def wait_idle(app: Flask, timeout: float = 60.0) -> None:
    """Wait (bounded) until the worker threads have nothing queued or running."""
    data_dir = app.extensions["float_settings"].data_dir
    wait_until(lambda: all(r["state"] not in ("queued", "running")
                         for r in queue_rows(data_dir)), "the queue to drain", timeout)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def tokens_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m webhook.tokens ARGS`` as an operator runs it, with ``env`` (FLOAT_*)."""
    return subprocess.run([sys.executable, "-m", "webhook.tokens", *args], cwd=PROJECT_ROOT,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                          capture_output=True, text=True, timeout=60)




# -- the production command, for real ------------------------------------------------------------
def production_command() -> list[str]:
    """The gunicorn command line docs/server.md documents for production (its arguments)."""
    text = (PROJECT_ROOT / "docs" / "server.md").read_text()
    start = text.index("gunicorn 'webhook:create_app()'")
    line = text[start:text.index("\n", start)]
    args = shlex.split(line)
    assert args[0] == "gunicorn"
    return args[1:]


def listening_socket() -> socket.socket:
    """A loopback socket already listening, handed to gunicorn as ``fd://``: no window in
    which another process could take a port found free (the free_port() race)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


class ProcessGroup:
    """A process started in a session of its own (``proc``), logging to ``log_path``:
    ``kill()`` is a crash of it and all it started, ``stop()`` a SIGTERM first."""

    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the process and everything it started (a host dying)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.released()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        self.kill()  # anything left in its group

    def released(self) -> None:
        """What the process held besides itself (a socket), let go of after it ended."""


class Gunicorn(ProcessGroup):
    """The production gunicorn command on a loopback socket (``-b`` replaced by the socket's
    fd), with ``FLOAT_*`` settings; waits for /health (bounded; not with ``healthy=False``:
    then no request is made before the test's own); ``stop()`` always ends the whole process
    group. ``args`` replace its arguments when given."""

    def __init__(self, tmp: Path, env: dict[str, str], args: list[str] | None = None,
                 name: str = "gunicorn", healthy: bool = True):
        self.sock = listening_socket()
        fd = self.sock.fileno()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"{name}.log"
        argv = list(args if args is not None else production_command())
        if "-b" in argv:
            i = argv.index("-b")
            del argv[i:i + 2]
        argv += ["-b", f"fd://{fd}", "--graceful-timeout", "10"]
        # the documented /dev/shm may not exist everywhere; it changes nothing the tests see
        if "--worker-tmp-dir" in argv:
            i = argv.index("--worker-tmp-dir")
            argv[i + 1] = str(tmp)
        self.argv = argv
        self.env = {**os.environ, **env}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *argv], cwd=PROJECT_ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, pass_fds=(fd,), start_new_session=True)
        try:
            if healthy:
                wait_until(self._healthy, "gunicorn to answer /health", 60, 0.1)
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        assert self.proc.poll() is None, self.log()
        try:
            return requests.get(self.url + "/health", timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            # the socket is bound before gunicorn starts: on a loaded machine the connection
            # waits in its backlog while the workers still import, and the read times out
            return False

    def released(self) -> None:
        self.sock.close()

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, headers=auth(), timeout=30)

    def deliver(self, event: str, payload: Any, delivery: str | None = None
                ) -> requests.Response:
        body = json.dumps(payload).encode()
        return requests.post(self.url + "/webhook", data=body,
                             headers=signed(body, event, delivery), timeout=30)

    def wait_head(self, head: str, repo: str = "acme/widgets", timeout: float = 60.0
                  ) -> dict[str, Any]:
        """The status once the map is at ``head`` with no delivery left for it."""
        def ready() -> dict[str, Any] | None:
            r = self.get(f"/repos/{repo}/status")
            if r.status_code == 200 and r.json()["head"] == head \
                    and r.json()["queued_deliveries"] == 0:
                return dict(r.json())
            return None

        return wait_until(ready, f"{repo} at {head[:12]}", timeout, 0.1)


def server_env(tmp: Path, origin: Origin | None = None, **extra: str) -> dict[str, str]:
    """The environment of a test server: app_config's FLOAT_* settings and ``extra``."""
    cfg = app_config(tmp, origin, **extra)
    return {k: str(v) for k, v in cfg.items() if k != "TESTING"}


@contextlib.contextmanager
def gunicorn(tmp: Path, origin: Origin | None = None, args: list[str] | None = None,
             **extra: str) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp, server_env(tmp, origin, **extra), args)
    try:
        yield server
    finally:
        server.stop()


class StubAPI:
    """A local HTTP server standing in for third-party APIs a job process calls (an
    OpenAI-compatible endpoint, GitHub's statuses): ``responses`` cannot reach into another
    process. Records every request; answers chat completions with ``answer``."""

    def __init__(self, answer: dict[str, Any] | None = None):
        import http.server
        import threading

        self.requests: list[dict[str, Any]] = []
        self.answer = answer or {"map_summary": "written by the stub model"}
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                stub.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body or b"null")})
                if self.path.endswith("/chat/completions"):
                    out = {"model": "stub-model", "choices": [
                        {"message": {"content": json.dumps(stub.answer)}}]}
                    code = 200
                else:
                    out, code = {"id": 1}, 201
                data = json.dumps(out).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
