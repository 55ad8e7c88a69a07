"""Runs action.yml the way a GitHub runner runs a composite action: its `run:` steps in order,
in bash with `-eo pipefail`, with `${{ }}` expressions substituted and the GITHUB_* files and
variables set, on a depth-1 clone of a temporary repository. The `uses:` step (setup-python)
is skipped: Python is already here, and `python` on PATH is this interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from float_hooks import frontmatter
from float_hooks.main import COMMANDS
from tests.gitrepo import PROJECT_ROOT, GitRepo, init_repo

ACTION = yaml.safe_load((PROJECT_ROOT / "action.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Run:
    outputs: dict[str, str]
    summary: str
    log: str


def parse_output_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT: `name=value` lines and `name<<DELIM ... DELIM` blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delim:
                    break
                value.append(inner)
            out[name] = "\n".join(value)
        elif "=" in line:
            name, value_ = line.split("=", 1)
            out[name] = value_
    return out


def run_action(workspace: Path, tmp: Path, inputs: dict[str, str],
               env_extra: dict[str, str] | None = None) -> Run:
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs)
    steps_out: dict[str, dict[str, str]] = {}
    context = {"github.action_path": str(PROJECT_ROOT), "github.workspace": str(workspace),
               "github.token": "fake-token"}

    def evaluate(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1)
            if expr.startswith("inputs."):
                return evaluate(str(values[expr[len("inputs."):]]))
            if expr.startswith("steps."):
                step, _, name = expr[len("steps."):].split(".", 2)
                return steps_out.get(step, {}).get(name, "")
            if expr in context:
                return context[expr]
            raise AssertionError(f"expression the test runner does not know: {expr}")
        return EXPR.sub(one, text)

    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    if not (bindir / "python").exists():
        (bindir / "python").symlink_to(sys.executable)  # what setup-python puts on PATH
    summary, log = tmp / "summary.md", []
    summary.write_text("")
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))}  # a runner sets none
    base_env.update({
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTION_PATH": str(PROJECT_ROOT), "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp / "runner-temp"),
        "GITHUB_REPOSITORY": "octo/demo", "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REF_NAME": "main", "GITHUB_BASE_REF": "", "CI": "true",
        **(env_extra or {}),
    })
    (tmp / "runner-temp").mkdir(exist_ok=True)
    for i, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step:
            assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", step["uses"])
            continue
        out_file = tmp / f"output-{i}"
        out_file.write_text("")
        env = {**base_env, "GITHUB_OUTPUT": str(out_file)}
        env.update({k: evaluate(str(v)) for k, v in (step.get("env") or {}).items()})
        assert step["shell"] == "bash"
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               evaluate(step["run"])], cwd=workspace, env=env,
                              capture_output=True, text=True)
        log.append(f"--- {step['name']}\n{proc.stdout}{proc.stderr}")
        assert proc.returncode == 0, "\n".join(log)
        if "id" in step:
            steps_out[step["id"]] = parse_output_file(out_file.read_text())
    outputs = {name: evaluate(spec["value"]) for name, spec in ACTION["outputs"].items()}
    return Run(outputs, summary.read_text(), "\n".join(log))


@pytest.fixture
def origin(tmp_path: Path) -> tuple[GitRepo, Path]:
    """A developer's repo with context and a committed export, one more commit that makes
    /src/auth stale, pushed to a bare remote."""
    dev = init_repo(tmp_path / "dev")
    dev.write("README.md", "# demo\n")
    dev.write("src/auth/login.py", "def login(): ...\n")
    dev.write("docs/guide.md", "# guide\n")
    dev.commit("initial")
    dev.float_ok("init")
    dev.float_ok("set", "/src/auth", "--summary", "Login | tokens", "--model", "m")
    dev.float_ok("set", "/docs", "--summary", "The guide")
    dev.float_ok("log", "add", "--title", "Use JWT", "--folder", "/src/auth")
    dev.float_ok("export")
    dev.git("add", "-A")
    dev.commit("map and export")
    dev.write("src/auth/login.py", "def login(): return 1\n")
    dev.commit("change login")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(dev.path), str(remote)], check=True)
    return dev, remote


def shallow_clone(remote: Path, where: Path) -> GitRepo:
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{remote}", str(where)],
                   check=True)
    repo = GitRepo(where)
    assert repo.git("rev-parse", "--is-shallow-repository").strip() == "true"
    return repo


def test_action_metadata() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert ACTION["name"] and ACTION["description"] and ACTION["branding"]["icon"]
    assert set(ACTION["inputs"]) == {"python-version", "export-dir", "regenerate", "commit",
                                     "commit-message", "token"}
    assert ACTION["inputs"]["regenerate"]["default"] == "false"
    assert ACTION["inputs"]["commit"]["default"] == "false"
    assert "[skip ci]" in ACTION["inputs"]["commit-message"]["default"]
    assert set(ACTION["outputs"]) == {"stale-count", "exported", "changed"}
    text = (PROJECT_ROOT / "action.yml").read_text()
    assert re.search(r"actions/setup-python@[0-9a-f]{40} # v\d+\.\d+\.\d+", text)


def test_shallow_checkout_outputs_summary_and_export(origin: tuple[GitRepo, Path],
                                                     tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path, {})
    assert run.outputs["stale-count"] == "1"
    assert run.outputs["changed"] == "true" and int(run.outputs["exported"]) >= 1
    assert "| `/src/auth` |" in run.summary
    assert "content changed since its context was written at commit" in run.summary
    assert "`/docs`" not in run.summary  # current: not in the stale table
    page = (ws.path / ".float/project/src/auth/_folder.md").read_text()
    parsed = frontmatter.parse(page)
    assert parsed is not None and parsed[0]["status"] == "stale"
    assert parsed[0]["map_summary"] == "Login | tokens"
    assert "skipped" in run.log  # commit and regenerate default to false
    assert ws.git("status", "--porcelain", "--", ".float/project").strip()  # not committed


def test_commit_back_pushes_once_then_nothing_changes(origin: tuple[GitRepo, Path],
                                                      tmp_path: Path) -> None:
    _, remote = origin
    before = subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"],
                            capture_output=True, text=True, check=True).stdout.strip()
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "ws", {"commit": "true",
                                                "commit-message": "map: refresh"})
    assert run.outputs["changed"] == "true"
    log = subprocess.run(["git", "--git-dir", str(remote), "log", "-1",
                          "--format=%P%n%an <%ae>%n%s", "main"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert log[0] == before
    assert log[1] == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    assert log[2] == "map: refresh [skip ci]"
    # the next run (a new shallow checkout of the pushed commit) finds nothing to change:
    # the export is byte-identical across fresh DBs and machines
    again = shallow_clone(remote, tmp_path / "ws2")
    run2 = run_action(again.path, tmp_path / "ws2", {"commit": "true"})
    assert run2.outputs == {"stale-count": "1", "exported": "0", "changed": "false"}
    assert "export unchanged" in run2.log


def test_pull_request_run_pushes_to_the_base_branch(origin: tuple[GitRepo, Path],
                                                    tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run_action(ws.path, tmp_path / "ws", {"commit": "true"},
               {"GITHUB_REF_NAME": "7/merge", "GITHUB_BASE_REF": "main"})
    subject = subprocess.run(["git", "--git-dir", str(remote), "log", "-1", "--format=%s",
                              "main"], capture_output=True, text=True, check=True).stdout
    assert "[skip ci]" in subject


@pytest.mark.skipif("regenerate" not in COMMANDS, reason="no regenerate command yet")
def test_regenerate_makes_everything_current(origin: tuple[GitRepo, Path],
                                             tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "ws", {"regenerate": "true"})
    assert run.outputs["stale-count"] == "1"  # counted before regeneration
    page = frontmatter.parse((ws.path / ".float/project/src/auth/_folder.md").read_text())
    assert page is not None and page[0]["status"] == "current"
    index = frontmatter.parse((ws.path / ".float/project/_index.md").read_text())
    assert index is not None and "0 stale" in index[1]


def test_custom_export_dir(origin: tuple[GitRepo, Path], tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "ws", {"export-dir": "docs/map"})
    assert (ws.path / "docs/map/_index.md").is_file()
    assert int(run.outputs["exported"]) == len(list((ws.path / "docs/map").rglob("*.md")))


def test_expression_and_output_parsing_helpers() -> None:
    assert parse_output_file("a=1\nb<<EOF\nx\ny\nEOF\nc=3=4\n") == \
        {"a": "1", "b": "x\ny", "c": "3=4"}
