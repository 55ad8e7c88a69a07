"""What the PostgreSQL (scale-out) tests share: worker processes as on separate hosts (each
with its own data directory), web hosts (docs/server.md's gunicorn command), deliveries spread
over them. Not a test module: nothing here is collected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.gitrepo import PROJECT_ROOT
from tests.waiting import wait_until
from tests.webhook_support import Gunicorn, Origin, ProcessGroup, server_env, signed


def pg_env(tmp: Path, host: str, url: str, origin: Origin, **extra: str) -> dict[str, str]:
    """The FLOAT_* environment of one host: its own data directory, the shared database."""
    env = server_env(tmp / host, origin, FLOAT_DATABASE_URL=url, FLOAT_STALLED_SECONDS="3",
                     **extra)
    env.pop("FLOAT_POLL_SECONDS", None)
    return env


class Proc(ProcessGroup):
    """``python -m <module>`` in its own process group, logging to ``tmp/<name>.log``."""

    def __init__(self, tmp: Path, name: str, module: str, env: dict[str, str]):
        self.name = name
        self.module = module
        self.env = {**os.environ, **env}
        self.log_path = tmp / f"{name}.log"
        self.start()

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module], cwd=PROJECT_ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid


def web(tmp: Path, name: str, env: dict[str, str]) -> Gunicorn:
    (tmp / name).mkdir(parents=True, exist_ok=True)
    return Gunicorn(tmp / name, env, name=name)


def deliver(server: Gunicorn, origin: Origin, before: str, after: str,
            timeout: float = 60.0) -> str:
    """POST a push to ``server``, redelivering (as an operator would, with the same delivery
    id) while it answers 503 (PostgreSQL away); returns the delivery id."""
    body = json.dumps(origin.payload(before, after)).encode()
    headers = signed(body, "push")

    def send() -> bool:
        try:
            r = requests.post(server.url + "/webhook", data=body, headers=headers, timeout=30)
        except requests.ConnectionError:
            return False
        assert r.status_code in (200, 202, 503), r.text
        return r.status_code != 503

    wait_until(send, f"{server.url} to accept a delivery", timeout, 0.2)
    return headers["X-GitHub-Delivery"]


def read_api(server: Gunicorn, full_name: str) -> dict[str, Any]:
    """What the read API says about a repository (deliveries without timings)."""
    out: dict[str, Any] = {}
    for key, path in (("status", "status"), ("stale", "stale"), ("root", "folders/"),
                      ("deliveries", "deliveries")):
        r = server.get(f"/repos/{full_name}/{path}")
        out[key] = r.json() if r.status_code == 200 else r.status_code
    return out
