"""The Action's anchor check, run as a runner runs it (tests/test_action.py): a pull request's
range that changes a function a locked decision cites gives the `anchors-flagged` output and a
job-summary table; `anchors-fail` fails the job."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.gitrepo import GitRepo, init_repo
from tests.test_action import run_action

BODY = "def cited():\n    return 1\n\n\ndef other():\n    return 2\n"


def _pull_request(tmp_path: Path) -> tuple[GitRepo, str, str]:
    dev = init_repo(tmp_path / "dev")
    dev.write("src/rules.py", BODY)
    dev.commit("initial")
    dev.float_ok("init")
    uid = dev.float_json("log", "add", "--title", "cited returns 1", "--status", "locked",
                         "--anchor", "src/rules.py::cited")["uid"]
    dev.float_ok("export")
    dev.git("add", "-A")
    base = dev.commit("map and export")
    dev.write("src/rules.py", BODY.replace("return 1", "return 11"))
    dev.commit("change the cited function")
    ws = tmp_path / "ws"
    subprocess.run(["git", "clone", "-q", f"file://{dev.path}", str(ws)], check=True)
    return GitRepo(ws), base, uid


def test_action_lists_records_whose_cited_code_a_range_changes(tmp_path: Path) -> None:
    ws, base, uid = _pull_request(tmp_path)
    run = run_action(ws.path, tmp_path / "runner", {"anchors-range": f"{base}..HEAD"})
    assert run.outputs["anchors-flagged"] == "1"
    assert "anchored code changed" in run.summary
    assert f"| decision `{uid[:12]}` | cited returns 1 | `/src/rules.py::cited` changed |" \
        in run.summary
    quiet = run_action(ws.path, tmp_path / "runner2", {"anchors-range": "HEAD..HEAD"})
    assert quiet.outputs["anchors-flagged"] == "0"
    try:
        run_action(ws.path, tmp_path / "runner3",
                   {"anchors-range": f"{base}..HEAD", "anchors-fail": "true"})
    except AssertionError as e:
        assert "Check the code that decisions and context cite" in str(e)
    else:
        raise AssertionError("anchors-fail: true did not fail the job")
