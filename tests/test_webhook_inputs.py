"""POST /webhook with good and bad input: every rejection is answered before anything is
written (checked on disk), redeliveries are acknowledged once, errors are JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webhook_support import ZERO, app_config, post, rows, signed
from webhook import create_app
from webhook.intake.github import MAX_BODY

SHA = "a" * 40


def push_payload(full_name: Any = "acme/widgets", **over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "ref": "refs/heads/main", "before": ZERO, "after": SHA, "created": True,
        "deleted": False, "forced": False, "commits": [],
        "repository": {"full_name": full_name, "default_branch": "main"},
    }
    p.update(over)
    return p


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    # no worker: these tests look at what the request itself records
    a = create_app(app_config(tmp_path, FLOAT_WORKER="off",
                              FLOAT_REPOS="acme/widgets,acme/gadgets"))
    yield a


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def disk(app: Flask) -> tuple[list[str], int]:
    """Everything in the data directory but the queue's, the event log's and the API
    tokens' own files, and the queue's rows."""
    data = app.extensions["float_settings"].data_dir
    files = sorted(str(p.relative_to(data)) for p in data.rglob("*")
                   if not p.name.startswith(("deliveries.db", "events.db", "tokens.db")))
    return files, len(rows(app))


def test_ping_and_other_events(client: FlaskClient, app: Flask) -> None:
    before = disk(app)
    r = post(client, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert r.status_code == 200 and r.json["zen"] == "Keep it logically awesome."
    r = post(client, "issues", {"action": "opened"})
    assert r.status_code == 204 and r.data == b""
    assert disk(app) == before


def test_push_is_recorded_and_acknowledged(client: FlaskClient, app: Flask) -> None:
    r = post(client, "push", push_payload(), delivery="d-1")
    assert r.status_code == 202
    assert r.json == {"status": "queued", "delivery": "d-1", "repository": "acme/widgets"}
    (row,) = rows(app)
    assert (row["delivery"], row["repo"], row["ref"], row["after"], row["state"]) == (
        "d-1", "acme/widgets", "refs/heads/main", SHA, "queued")
    assert row["created"] and not row["deleted"] and not row["forced"]
    # nothing but the queue row: the git work happens in the worker
    assert disk(app)[0] == []


def test_form_encoded_payload(client: FlaskClient, app: Flask) -> None:
    r = post(client, "push", push_payload(), delivery="d-form", form=True)
    assert r.status_code == 202
    assert rows(app)[0]["delivery"] == "d-form"


def test_redelivery_is_acknowledged_once(client: FlaskClient, app: Flask) -> None:
    assert post(client, "push", push_payload(), delivery="same").status_code == 202
    r = post(client, "push", push_payload(), delivery="same")
    assert r.status_code == 200 and r.json["status"] == "duplicate"
    assert len(rows(app)) == 1


def test_mixed_case_name_uses_one_queue_key(client: FlaskClient, app: Flask) -> None:
    assert post(client, "push", push_payload("Acme/Widgets")).status_code == 202
    assert rows(app)[0]["repo"] == "acme/widgets"
    assert rows(app)[0]["full_name"] == "Acme/Widgets"


def _raw(client: FlaskClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/webhook", data=body, headers=headers)


GOOD = json.dumps(push_payload()).encode()


def _without(h: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in h.items() if k != name}


BAD_REQUESTS: list[tuple[str, Any, int]] = [
    ("no signature", lambda: _without(signed(GOOD, "push"), "X-Hub-Signature-256"), 401),
    ("wrong signature", lambda: signed(GOOD, "push", secret="not-the-secret"), 401),
    ("sha1 signature", lambda: {**signed(GOOD, "push"), "X-Hub-Signature-256": "sha1=00"}, 401),
    ("no event", lambda: _without(signed(GOOD, "push"), "X-GitHub-Event"), 400),
    ("no delivery", lambda: _without(signed(GOOD, "push"), "X-GitHub-Delivery"), 400),
    ("bad delivery", lambda: signed(GOOD, "push", delivery="../../x"), 400),
]


@pytest.mark.parametrize(("what", "headers", "code"), BAD_REQUESTS,
                         ids=[b[0] for b in BAD_REQUESTS])
def test_bad_headers(client: FlaskClient, app: Flask, what: str, headers: Any,
                     code: int) -> None:
    before = disk(app)
    r = _raw(client, GOOD, headers())
    assert r.status_code == code, what
    assert r.is_json and r.json["error"]
    assert disk(app) == before == ([], 0)


BAD_BODIES: list[tuple[str, bytes, str, int]] = [
    ("malformed JSON", b'{"ref": ', "application/json", 400),
    ("not UTF-8", b'{"ref": "\xff"}', "application/json", 400),
    ("JSON array", b"[1, 2]", "application/json", 400),
    ("form without payload", b"other=1", "application/x-www-form-urlencoded", 400),
    ("form with bad JSON", b"payload=%7Bnope", "application/x-www-form-urlencoded", 400),
    ("deeply nested", b"[" * 100000 + b"]" * 100000, "application/json", 400),
]


@pytest.mark.parametrize(("what", "body", "ctype", "code"), BAD_BODIES,
                         ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies(client: FlaskClient, app: Flask, what: str, body: bytes, ctype: str,
                    code: int) -> None:
    r = _raw(client, body, signed(body, "push", content_type=ctype))
    assert r.status_code == code, what
    assert r.is_json
    assert disk(app) == ([], 0)


BAD_NAMES = ["../widgets", "acme/..", "acme/.", "acme/%2e%2e", "acme/widgets/../../etc",
             "acme/wid\x00gets", "acme/wid\ngets", "acme", "/etc/passwd", "acme\\..\\x",
             "a" * 40 + "/b", None, 7, ["acme/widgets"]]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_invalid_repository_names(client: FlaskClient, app: Flask, name: Any) -> None:
    r = post(client, "push", push_payload(name))
    assert r.status_code == 400
    assert disk(app) == ([], 0)
    assert sorted(p.name for p in app.extensions["float_settings"].data_dir.iterdir()) == [
        p for p in [f"{db}.db{side}" for db in ("deliveries", "tokens")
                    for side in ("", "-shm", "-wal")]
        if (app.extensions["float_settings"].data_dir / p).exists()]


@pytest.mark.parametrize("over", [
    {"ref": None}, {"ref": "main"}, {"ref": "refs/heads/a\nb"}, {"after": "HEAD"},
    {"before": "--upload-pack=x"}, {"repository": "acme/widgets"}, {"repository": None},
], ids=str)
def test_invalid_push_fields(client: FlaskClient, app: Flask, over: dict[str, Any]) -> None:
    assert post(client, "push", push_payload(**over)).status_code == 400
    assert disk(app) == ([], 0)


def test_repository_not_allowed(client: FlaskClient, app: Flask) -> None:
    r = post(client, "push", push_payload("evil/widgets"))
    assert r.status_code == 403 and r.json["error"] == "Forbidden"
    assert disk(app) == ([], 0)


def test_body_over_25_mb(client: FlaskClient, app: Flask) -> None:
    body = b" " * (MAX_BODY + 1)
    r = _raw(client, body, signed(body, "push"))
    assert r.status_code == 413 and r.is_json
    assert disk(app) == ([], 0)


def test_json_errors_everywhere(client: FlaskClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.json["error"] == "Not Found"
    r = client.get("/webhook")
    assert r.status_code == 405 and r.json["error"] == "Method Not Allowed"
    assert r.headers["Allow"] == "POST"


def test_other_events_get_an_empty_204(client: FlaskClient, app: Flask) -> None:
    body = json.dumps({"action": "opened"}).encode()
    r = _raw(client, body, signed(body, "issues"))
    assert r.status_code == 204 and r.data == b""
    assert "Content-Length" not in r.headers and "Content-Type" not in r.headers
    assert disk(app) == ([], 0)


def test_internal_errors_are_json(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, FLOAT_WORKER="off", TESTING=False))
    # break the queue under the app: the request fails inside, the answer is still JSON
    (tmp_path / "data" / "deliveries.db").unlink()
    (tmp_path / "data" / "deliveries.db").mkdir()
    r = post(app.test_client(), "push", push_payload())
    assert r.status_code == 500 and r.json["error"] == "Internal Server Error"


def test_insecure_dev_mode_skips_signatures(tmp_path: Path) -> None:
    app = create_app({"FLOAT_WEBHOOK_INSECURE": "1", "FLOAT_DATA_DIR": str(tmp_path / "d"),
                      "FLOAT_WORKER": "off"})
    r = app.test_client().post("/webhook", json=push_payload(), headers={
        "X-GitHub-Event": "push", "X-GitHub-Delivery": "d"})
    assert r.status_code == 202


@pytest.mark.parametrize("branch", ["main:refs/heads/x", "-x", "a..b", "a b", "*", "m\n", 7])
def test_unsafe_default_branch_never_reaches_git(client: FlaskClient, app: Flask,
                                                 branch: Any) -> None:
    payload = push_payload()
    payload["repository"]["default_branch"] = branch
    r = post(client, "push", payload)
    assert r.status_code == 202 and r.json["status"] == "ignored"
    assert rows(app)[0]["default_branch"] is None and rows(app)[0]["state"] == "ignored"


def test_read_body_follows_pep_3333() -> None:
    import io

    from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

    from webhook.intake.github import read_body

    class Trickle(io.BytesIO):  # a server's stream may hand out less than asked for
        def read(self, size: int | None = -1) -> bytes:
            return super().read(min(3, size if size and size > 0 else 3))

    assert read_body({"wsgi.input": Trickle(b"0123456789"), "CONTENT_LENGTH": "10"}) \
        == b"0123456789"
    assert read_body({"wsgi.input": io.BytesIO(b"0123456789"), "CONTENT_LENGTH": "4"}) == b"0123"
    # no length and no end of stream: nothing is read
    assert read_body({"wsgi.input": io.BytesIO(b"unread")}) == b""
    # chunked (the server marks the stream as ending): read to its end
    assert read_body({"wsgi.input": Trickle(b"chunked body"), "wsgi.input_terminated": True}) \
        == b"chunked body"
    assert read_body({"wsgi.input": io.BytesIO(b"0123"), "CONTENT_LENGTH": " 4\t"}) == b"0123"
    for bad in ("-1", "+4", "\u00b2", "4" * 4301, "0x10", "1 2"):
        with pytest.raises(BadRequest):
            read_body({"wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": bad})
    with pytest.raises(RequestEntityTooLarge):
        read_body({"wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": str(MAX_BODY + 1)})
    big = io.BytesIO(b" " * (MAX_BODY + 1))
    with pytest.raises(RequestEntityTooLarge):
        read_body({"wsgi.input": big, "wsgi.input_terminated": True})
