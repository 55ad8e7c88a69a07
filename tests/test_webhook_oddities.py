"""Signed oddities get a 4xx, never a 5xx, and the checks run in the documented order: body
size (413), then the signature (401), then the headers and the payload (400)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webhook_support import ZERO, app_config, rows, signed
from webhook import create_app
from webhook.intake.github import MAX_BODY


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield create_app(app_config(tmp_path, FLOAT_WORKER="off", TESTING=False))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def push(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"ref": "refs/heads/main", "before": ZERO, "after": "a" * 40,
                         "repository": {"full_name": "acme/widgets", "default_branch": "main"}}
    p.update(over)
    return p


def send(client: FlaskClient, body: bytes, event: str = "push", **headers: str) -> Any:
    return client.post("/webhook", data=body, headers={**signed(body, event), **headers})


BIG_INT = "9" * 5000


@pytest.mark.parametrize("where", ["top", "nested", "commits"])
def test_a_5000_digit_integer_is_a_400(client: FlaskClient, app: Flask, where: str) -> None:
    text = json.dumps(push())
    if where == "top":
        text = text[:-1] + f', "size": {BIG_INT}}}'
    elif where == "nested":
        text = text.replace('"default_branch"', f'"id": {BIG_INT}, "default_branch"')
    else:
        text = text[:-1] + f', "commits": [{{"n": -{BIG_INT}}}]}}'
    r = send(client, text.encode())
    assert r.status_code == 400 and r.json["error"] == "Bad Request"
    assert rows(app) == []


def test_a_lone_surrogate_in_ref_is_a_400(client: FlaskClient, app: Flask) -> None:
    body = json.dumps(push()).replace("refs/heads/main", "refs/heads/ma\\ud800in").encode()
    r = send(client, body)
    assert r.status_code == 400 and r.json["message"] == "push without a valid ref"
    assert rows(app) == []


def test_a_lone_surrogate_in_the_default_branch_is_not_followed(client: FlaskClient,
                                                                app: Flask) -> None:
    body = json.dumps(push()).replace('"default_branch": "main"',
                                      '"default_branch": "\\udfff"').encode()
    r = send(client, body)
    assert r.status_code == 202 and r.json["status"] == "ignored"
    assert rows(app)[0]["default_branch"] is None


@pytest.mark.parametrize("zen", ["1e999", "-1e999", '"\\ud800"', "[1e999]", BIG_INT[:4000]])
def test_the_ping_reply_is_valid_json(client: FlaskClient, zen: str) -> None:
    r = send(client, f'{{"zen": {zen}, "hook_id": 1}}'.encode(), "ping")
    assert r.status_code == 200
    json.loads(r.data, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert r.json["status"] == "pong" and r.json["zen"] is None


def test_checks_run_413_then_401_then_400(client: FlaskClient, app: Flask) -> None:
    too_big = b"{" * (MAX_BODY + 1)  # too big, not JSON, and no valid signature
    r = client.post("/webhook", data=too_big, headers={
        "X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "application/json"})
    assert r.status_code == 413  # the size first, though the rest is wrong too
    r = client.post("/webhook", data=b"{nope", headers={
        "X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "application/json"})
    assert r.status_code == 401  # then the signature, before the headers and the body
    r = send(client, b"{nope", **{"X-GitHub-Event": "", "X-GitHub-Delivery": ""})
    assert r.status_code == 400 and "header" in r.json["message"]  # headers before the body
    r = send(client, b"{nope")
    assert r.status_code == 400 and "JSON" in r.json["message"]
    assert rows(app) == []
