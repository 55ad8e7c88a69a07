"""Outline benchmark on a generated repository of real-looking code (Python, TypeScript, TSX,
Go, Rust classes and functions with doc comments; the other files as generate.py makes them):

- outlining every code file the first time (``where`` does this), against the floor: the same
  blobs read and parsed by bare tree-sitter in the same run (the outline should be within 2x);
- outlining again after a 5-file commit (only the 5 new blobs are parsed);
- the post-commit hook after a 5-file commit, this checkout against ``--before PATH`` (a
  checkout of the code before outlines), alternating: a commit must not get slower;
- ``regenerate`` with the builtin regenerator over every folder.

    python bench/bench_outline.py                  # 13,000 files
    python bench/bench_outline.py --files 2000 --runs 3 --before /tmp/base
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import generate
from generate import as_installed, commit, edit_files, git_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CODE_VERSION = 2

_PY = '''"""{Title} support: {w1} and {w2} handling."""
from .{w3} import {Cls3}


class {Cls}({Cls3}):
    """A {w1} that keeps {w2} records in order."""

    def __init__(self, name: str, size: int = {n}) -> None:
        self.name = name
        self.size = size

    def {f1}(self, item: "{Cls3}") -> bool:
        """Adds one {w2} item."""
{pybody}
        return item.{f2}(self.size)

    def _{f2}(self) -> None:
        pass
'''
_TS = '''import {{ {Cls3} }} from "./{w3}";

/** A {w1} that keeps {w2} records in order. */
export class {Cls} extends {Cls3} {{
  /** Adds one {w2} item. */
  {f1}(item: {Cls3}): boolean {{
{cbody}
    return item.{f2}({n});
  }}
  private {f2}(): void {{}}
}}

/** Makes a {w1}. */
export const make{Cls} = (name: string): {Cls} => new {Cls}(name);
'''
_GO = '''// Package {w1} handles {w2}.
package {w1}

// {Cls} keeps {w2} records in order.
type {Cls} struct {{
	size int
}}

// {F1} adds one {w2} item.
func (c *{Cls}) {F1}(item {Cls3}) bool {{
{gobody}
	return item.{F2}({n})
}}

func new{Cls}() *{Cls} {{ return &{Cls}{{}} }}
'''
_RS = '''//! {Title} support.

/// A {w1} that keeps {w2} records in order.
pub struct {Cls} {{
    size: usize,
}}

impl {Cls} {{
    /// Adds one {w2} item.
    pub fn {f1}(&self, item: &{Cls3}) -> bool {{
{rsbody}
        item.{f2}({n})
    }}
}}
'''
TEMPLATES = {".py": _PY, ".ts": _TS, ".tsx": _TS, ".go": _GO, ".rs": _RS}


def _code(path: str, data: bytes, rng: random.Random) -> bytes:
    ext = os.path.splitext(path)[1]
    template = TEMPLATES.get(ext)
    if template is None:
        return data
    words = [w for w in generate._WORDS if w.isalpha()]
    w1, w2, w3, f1, f2 = (rng.choice(words) for _ in range(5))
    def body(line: str, indent: str) -> str:
        # a method body of ordinary size: real code has a definition every 15-25 lines
        return "\n".join(indent + line.format(v=rng.choice(words), i=i)
                         for i in range(rng.randrange(8, 20)))

    parts = [template.format(
        Title=w1.title(), w1=w1, w2=w2, w3=w3, Cls=w1.title() + "Store",
        Cls3=w3.title() + "Base", f1=f1, f2=f2, F1=f1.title(), F2=f2.title(),
        n=rng.randrange(100),
        pybody=body("{v}_{i} = self.size * {i} if item else None", " " * 8),
        cbody=body("const {v}{i} = item ? {i} * 2 : this.size;", " " * 4),
        gobody=body("{v}{i} := c.size * {i}; _ = {v}{i}", "\t"),
        rsbody=body("let {v}_{i} = self.size * {i};", " " * 8))
        for _ in range(rng.randrange(1, 4))]
    return "\n".join(parts).encode()


def code_repo(files: int, seed: int = 0) -> Path:
    """The cached code repository for these parameters (built on first use). Read only."""
    dest = generate.CACHE / f"code-v{CODE_VERSION}-f{files}-s{seed}"
    if (dest / ".git").is_dir():
        return dest
    generate.CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=generate.CACHE)) / "repo"
    tmp.mkdir()
    rng = random.Random(seed)
    entries = [(m, p, _code(p, d, rng)) for m, p, d in generate.layout(files, seed=seed)]
    generate._git(tmp, "init", "-q", "-b", "main")
    generate._git(tmp, "config", "gc.auto", "0")
    generate._git(tmp, "fast-import", "--quiet", "--done",
                  input=generate._stream(entries, f"bench: {files} code files\n"))
    generate._git(tmp, "reset", "-q", "--hard", "main")
    os.rename(tmp, dest)
    shutil.rmtree(tmp.parent, ignore_errors=True)
    return dest


def _env(pythonpath: Path = ROOT) -> dict[str, str]:
    env = git_env()
    env["PYTHONPATH"] = str(pythonpath)
    return env


def _run(repo: Path, *cmd: str, pythonpath: Path = ROOT) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=repo, env=_env(pythonpath), capture_output=True)
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1) or b"float-hooks:" in proc.stderr:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stdout.decode()}{proc.stderr.decode()}")
    return took


def outline_all(repo: Path) -> dict[str, float]:
    """First outline of every code file, the bare tree-sitter floor, and after 5 edits."""
    from float_hooks.code import answers, cache, parse
    from float_hooks.code.languages import grammar_for
    from float_hooks.map.build import open_built
    from float_hooks.project import Project

    project = Project.discover(repo)
    store = open_built(project)
    try:
        conn = store.conn
        code = [(p, b) for p, b in conn.execute("SELECT path, content_hash FROM files")
                if cache.outlined(p)]
        for p, _ in code[:50]:  # load every grammar before timing either side
            parse.parse_tree(grammar_for(p), b"")  # type: ignore[arg-type]
        t0 = time.perf_counter()
        for p, b in code:
            parse.parse_tree(grammar_for(p), cache.read_source(project.git, p, b))  # type: ignore[arg-type]
        floor = time.perf_counter() - t0
        t0 = time.perf_counter()
        parsed = answers.ensure_all(conn, project.git)
        first = time.perf_counter() - t0
        symbols = conn.execute("SELECT count(*) FROM outline_symbols").fetchone()[0]
    finally:
        store.close()
    paths = [p.lstrip("/") for p, _ in random.Random(7).sample(code, 5)]
    for rel in paths:  # replaced, not written in place: the cache may share inodes
        generate.write_file(repo, rel, (repo / rel).read_bytes() + b"\n// edited\n")
    commit(repo, "five edits", paths)
    _run(repo, sys.executable, "-m", "float_hooks", "sync")
    store = open_built(Project.discover(repo))
    try:
        t0 = time.perf_counter()
        again = answers.ensure_all(store.conn, project.git)
        after = time.perf_counter() - t0
    finally:
        store.close()
    return {"code_files": len(code), "parsed": parsed, "symbols": symbols, "floor_s": floor,
            "first_s": first, "after_commit_parsed": again, "after_commit_s": after}


def hook_cost(repos: dict[str, tuple[Path, Path]], runs: int) -> dict[str, float]:
    """The post-commit hook's work after a hooks-off 5-file commit: median seconds, per
    name -> (repository, the float-hooks checkout that runs it), alternating."""
    out: dict[str, list[float]] = {k: [] for k in repos}
    seed = 100
    for _ in range(runs):
        seed += 1
        for name, (repo, code) in repos.items():
            edit_files(repo, 5, seed=seed)  # the same edits on both sides
            _run(repo, "git", "-c", "core.hooksPath=/dev/null", "commit", "-qam", "edit")
            out[name].append(_run(repo, sys.executable, "-m", "float_hooks", "hook-impl",
                                  "post-commit", pythonpath=code))
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> int:
    as_installed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=13000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", type=Path, default=None,
                    help="a checkout of float-hooks before outlines, for the hook comparison")
    args = ap.parse_args()
    src = code_repo(args.files)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["cp", "-a", str(src), str(repo)], check=True)
        repos = {"this checkout": (repo, ROOT)}
        if args.before:  # the same repository, initialised and hooked by the old code
            old = Path(tmp) / "before"
            subprocess.run(["cp", "-a", str(src), str(old)], check=True)
            _run(old, sys.executable, "-m", "float_hooks", "init", pythonpath=args.before)
            repos["before"] = (old, args.before)
        _run(repo, sys.executable, "-m", "float_hooks", "init")
        folders = int(subprocess.run(
            [sys.executable, "-m", "float_hooks", "query", "SELECT count(*) AS n FROM folders",
             "--json"], cwd=repo, env=_env(), capture_output=True, text=True
        ).stdout.split('"n": ')[1].split("\n")[0])
        o = outline_all(repo)
        print(f"### {args.files} files, {o['code_files']:.0f} code files, {folders} folders")
        print("| what | seconds |\n|---|---|")
        print(f"| bare tree-sitter: read and parse every code blob (floor) | {o['floor_s']:.2f} |")
        print(f"| outline every code file, first time ({o['symbols']:.0f} symbols stored) |"
              f" {o['first_s']:.2f} |")
        print(f"| outline again after a 5-file commit ({o['after_commit_parsed']:.0f} parsed) |"
              f" {o['after_commit_s']:.3f} |")
        for name, took in hook_cost(repos, args.runs).items():
            print(f"| post-commit hook after a 5-file commit, {name} (median of {args.runs}) |"
                  f" {took:.3f} |")
        took = _run(repo, sys.executable, "-m", "float_hooks", "regenerate", "--all")
        print(f"| regenerate --all (builtin), {folders} folders | {took:.2f} |")
        print(f"\nratio outline/floor: {o['first_s'] / o['floor_s']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
