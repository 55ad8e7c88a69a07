"""Real temporary git repositories for tests (pre-commit's testing/fixtures.py, in spirit)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from float_hooks.main import main

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class GitRepo:
    def __init__(self, path: Path):
        self.path = path

    # -- git ---------------------------------------------------------------------------------
    def git(self, *args: str | bytes, check: bool = True, env: dict[str, str] | None = None,
            input: bytes | None = None) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, input=input,
                              env={**os.environ, **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(
                f"git {args} failed ({proc.returncode}):\n{proc.stdout.decode()}"
                f"{proc.stderr.decode()}")
        return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")

    def write(self, rel: str | bytes, content: str | bytes = "x\n") -> Path:
        target = os.path.join(os.fsencode(self.path), os.fsencode(rel))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        return Path(os.fsdecode(target))

    def remove(self, rel: str) -> None:
        os.remove(self.path / rel)

    def commit(self, message: str = "change", *args: str) -> str:
        if not args:
            self.git("add", "-A")
        self.git("commit", "-q", "-m", message, *args)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    # -- float-hooks, in process (fast) or as a real process --------------------------------
    def float(self, *args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--repo", str(self.path), *args])
        return Result(code, out.getvalue(), err.getvalue())

    def float_ok(self, *args: str) -> Result:
        r = self.float(*args)
        assert r.code == 0, f"float-hooks {args} exited {r.code}:\n{r.out}\n{r.err}"
        return r

    def float_json(self, *args: str) -> Any:
        return self.float_ok(*args, "--json").json()

    def float_proc(self, *args: str, env: dict[str, str] | None = None,
                   input: str | None = None, timeout: float = 300.0) -> Result:
        """The CLI as a real process, killed (and the test failed) after ``timeout`` seconds:
        a hang never hangs the suite."""
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "float_hooks", *args], cwd=self.path,
                capture_output=True, text=True, env={**os.environ, **(env or {})}, input=input,
                timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"float-hooks {args} did not end within {timeout:g}s"
                                 " (killed)") from None
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def float_error(self, *args: str, input: str | None = None) -> str:
        """Run the CLI as a process (only a process shows a traceback) on an input it must
        refuse: see :func:`cli_error`."""
        return cli_error(self.path, *args, input=input)

    def folders(self) -> dict[str, str]:
        """path -> status, straight from the DB."""
        rows = self.float_json("query", "SELECT path, status FROM folders")
        return {r["path"]: r["status"] for r in rows}


def cli_error(cwd: Path, *args: str, input: str | None = None) -> str:
    """``python -m float_hooks ARGS`` in ``cwd``, run from this checkout, must keep the usage
    and environment error promise: exit 2, one line on stderr, no traceback. Returns the
    line."""
    proc = subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=cwd,
                          capture_output=True, text=True, input=input)
    said = f"float-hooks {args}: exit {proc.returncode}, stderr:\n{proc.stderr}"
    assert proc.returncode == 2, said
    assert "Traceback" not in proc.stderr, said
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("float-hooks: "), said
    return lines[0]


def init_repo(path: Path) -> GitRepo:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return GitRepo(path)


def small_tree(repo: GitRepo) -> GitRepo:
    """``repo`` with a small tree (five files in five folders), committed and initialised."""
    repo.write("README.md", "# demo\n")
    repo.write("src/app.py", "print('app')\n")
    repo.write("src/auth/login.py", "def login(): ...\n")
    repo.write("src/auth/tokens/jwt.py", "JWT = 1\n")
    repo.write("docs/guide.md", "# guide\n")
    repo.commit("initial")
    repo.float_ok("init")
    return repo
