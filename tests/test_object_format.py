"""A repository's hash (SHA-1 or SHA-256) comes from one place, Git.object_format, and is right
before the first commit too: export remembers the blob ids git gives its pages, and a symlink
in the work tree hashes as git hashes it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from float_hooks.repo.git import Git
from tests.gitrepo import GitRepo
from tests.map_support import db_files


def sha256_repo(path: Path) -> GitRepo:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    return GitRepo(path)


@pytest.mark.parametrize("fmt", ["sha1", "sha256"])
def test_object_format_before_the_first_commit(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / fmt
    subprocess.run(["git", "init", "-q", f"--object-format={fmt}", str(path)], check=True)
    assert Git.discover(path).object_format() == fmt


def test_export_in_a_new_sha256_repository_remembers_git_blob_ids(tmp_path: Path) -> None:
    repo = sha256_repo(tmp_path / "repo")
    repo.write("src/app.py", "print('app')\n")
    repo.float_ok("init")
    repo.float_ok("set", "/src", "--summary", "the app")
    repo.float_ok("export")  # no commit yet: no HEAD to tell the hash by
    remembered = {r["page"]: r["blob"]
                  for r in repo.float_json("query", "SELECT page, blob FROM export_pages")}
    assert remembered
    for page, blob in remembered.items():
        assert blob == repo.git("hash-object", f".float/project/{page}").strip(), page


def test_a_symlink_in_a_sha256_work_tree_hashes_as_git_does(tmp_path: Path) -> None:
    repo = sha256_repo(tmp_path / "repo")
    repo.write("src/app.py", "print('app')\n")
    os.symlink("src/app.py", repo.path / "link")
    repo.commit("files")
    repo.float_ok("init")
    repo.write("src/app.py", "print('edited')\n")
    os.remove(repo.path / "link")
    os.symlink("src/other.py", repo.path / "link")  # changed in the work tree only
    repo.float_ok("sync")
    repo.git("add", "-A")
    staged = {"/" + line.split("\t")[1]: line.split()[1]
              for line in repo.git("ls-files", "-s").splitlines()
              if not line.split("\t")[1].startswith(".float/")}
    assert db_files(repo) == staged
