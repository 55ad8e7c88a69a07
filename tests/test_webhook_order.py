"""Late and out-of-order deliveries never rewind the map: the worker syncs the tracked
branch's tip as fetched, whatever commit the delivery names."""

from __future__ import annotations

from pathlib import Path

from float_hooks.store.db import Store
from tests.webhook_support import Origin, app_config, post, rows
from webhook import create_app


def synced_head(tmp_path: Path) -> str | None:
    s = Store.open(tmp_path / "data" / "acme" / "widgets" / "index.db")
    try:
        return s.get_meta("base_commit")
    finally:
        s.close()


def test_a_late_delivery_does_not_rewind_the_map(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "v1\n"}, "c1")
    p1 = origin.payload(*origin.push())
    origin.commit({"src/app.py": "v2\n", "src/new.py": "new\n"}, "c2")
    p2 = origin.payload(*origin.push())
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off"))
    client = app.test_client()
    # c2's delivery arrives first, then c1's (redelivered by hand, or retried by GitHub)
    assert post(client, "push", p2).status_code == 202
    assert app.extensions["float_worker"].run_until_idle() == 1
    assert synced_head(tmp_path) == p2["after"]
    assert post(client, "push", p1).status_code == 202
    assert app.extensions["float_worker"].run_until_idle() == 1
    assert synced_head(tmp_path) == p2["after"]  # still c2: not rewound to c1
    late = rows(app)[-1]
    assert late["state"] == "done" and late["result"]["sync"]["head"] == p2["after"]
    assert late["result"]["synced_tip"] == {"pushed": p1["after"], "tip": p2["after"]}
    assert late["result"]["sync"]["files_changed"] == 0


def test_a_forced_push_back_is_followed(tmp_path: Path) -> None:
    # the tip is the truth: a branch forced back to an older commit is synced there
    origin = Origin(tmp_path)
    c1 = origin.commit({"src/app.py": "v1\n"}, "c1")
    origin.push()
    origin.commit({"src/app.py": "v2\n"}, "c2")
    p2 = origin.payload(*origin.push())
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off"))
    post(app.test_client(), "push", p2)
    app.extensions["float_worker"].run_until_idle()
    origin.work.git("reset", "-q", "--hard", c1)
    before, after = origin.push(force=True)
    post(app.test_client(), "push", origin.payload(before, after, forced=True))
    app.extensions["float_worker"].run_until_idle()
    assert after == c1 and synced_head(tmp_path) == c1
