"""FLOAT_EXPORT_BRANCH: the server pushes what it regenerated back to the origin (a local bare
repository standing in for GitHub) as one commit on the synced head, and a clone of that branch
brings the context into a developer's own map."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, init_repo
from tests.webhook_support import Origin, app_config, post, rows
from webhook import create_app
from webhook.settings import SettingsError, load

BRANCH = "float-hooks/context"


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"README.md": "# Widgets\n", "src/app.py": '"""The app."""\n',
              "src/auth/login.py": '"""Log in."""\n', ".float/project/notes.md": "mine\n"},
             "initial")
    return o


def deliver(app: object, origin: Origin) -> dict[str, object]:
    before, after = origin.push()
    client = app.test_client()  # type: ignore[attr-defined]
    assert post(client, "push", origin.payload(before, after)).status_code == 202
    app.extensions["float_worker"].run_until_idle()  # type: ignore[attr-defined]
    row = rows(app)[-1]  # type: ignore[arg-type]
    assert row["state"] == "done", row
    result: dict[str, object] = row["result"]
    return result


def origin_git(origin: Origin, *args: str) -> str:
    return GitRepo(origin.bare).git(*args).strip()


def test_the_regenerated_export_reaches_the_origin_as_one_commit(tmp_path: Path,
                                                                 origin: Origin) -> None:
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_EXPORT_BRANCH=BRANCH))
    result = deliver(app, origin)
    pushed = result["export_branch"]
    assert isinstance(pushed, dict) and pushed["pushed"] is True, result
    head = origin.tip("main")
    commit = origin.tip(BRANCH)
    assert pushed["commit"] == commit
    assert origin_git(origin, "rev-parse", f"{commit}^") == head  # on top of the synced head
    changed = origin_git(origin, "diff", "--name-only", head, commit).splitlines()
    assert changed and all(p.startswith(".float/project/") for p in changed)
    assert ".float/project/notes.md" not in changed  # a hand-written file there stays
    page = origin_git(origin, "show", f"{commit}:.float/project/src/auth/_folder.md")
    assert "status: current" in page and "map_summary:" in page

    # a redelivery, or a push that changes nothing the map shows: nothing new is pushed
    again = deliver(app, origin)["export_branch"]
    assert again == {"pushed": False, "reason": "the branch already holds this export",
                     "commit": commit}

    # a developer takes the branch: a fresh clone's first float command imports its context
    clone = init_repo(tmp_path / "dev")
    clone.git("fetch", "-q", str(origin.bare), f"refs/heads/{BRANCH}")
    clone.git("checkout", "-q", "FETCH_HEAD")
    doc = clone.float_json("show", "src/auth")
    assert doc["status"] == "current" and doc["map_summary"]

    # new code: the branch moves to a commit on the new head with the new context
    origin.commit({"src/auth/login.py": '"""Log in, v2."""\n'})
    moved = deliver(app, origin)["export_branch"]
    assert isinstance(moved, dict) and moved["pushed"] is True
    assert origin_git(origin, "rev-parse", f"{BRANCH}^") == origin.tip("main")


def test_merged_export_is_not_pushed_again_and_the_tracked_branch_is_never_written(
        tmp_path: Path, origin: Origin) -> None:
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_EXPORT_BRANCH=BRANCH))
    commit = deliver(app, origin)["export_branch"]["commit"]  # type: ignore[index]
    # the team merges the branch: the head now holds the export
    origin.work.git("fetch", "-q", "origin", BRANCH)
    origin.work.git("merge", "-q", "--ff-only", "FETCH_HEAD")
    assert origin.work.git("rev-parse", "HEAD").strip() == commit
    merged = deliver(app, origin)["export_branch"]
    assert merged == {"pushed": False, "reason": "the head already holds this export"}
    # a folder removed from the code: its generated page goes, a hand-written file stays
    origin.work.git("rm", "-q", "-r", "src/auth")
    origin.work.commit("remove auth")
    gone = deliver(app, origin)["export_branch"]
    assert isinstance(gone, dict) and gone["pushed"] is True
    files = origin_git(origin, "ls-tree", "-r", "--name-only", BRANCH, ".float/project")
    assert ".float/project/src/auth/_folder.md" not in files.splitlines()
    assert {".float/project/notes.md", ".float/project/src/_folder.md"} <= set(files.split())
    with pytest.raises(SettingsError, match="FLOAT_EXPORT_BRANCH"):
        load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_BRANCH": "main",
              "FLOAT_EXPORT_BRANCH": "main"}, {})
    with pytest.raises(SettingsError, match="FLOAT_EXPORT_BRANCH"):
        load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_EXPORT_BRANCH": "-f"}, {})
    # the repository's default branch is tracked: the same name is refused at push time
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_EXPORT_BRANCH="main",
                                FLOAT_DATA_DIR=str(tmp_path / "other")))
    before = origin.tip("main")
    refused = deliver(app, origin)["export_branch"]
    assert isinstance(refused, dict) and refused["pushed"] is False
    assert "tracked branch" in str(refused["error"]) and origin.tip("main") == before


def test_a_failed_push_is_reported_not_fatal(tmp_path: Path, origin: Origin) -> None:
    # the origin refuses pushes to the export branch (a protected branch on GitHub)
    hook = origin.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do case $ref in refs/heads/float-hooks/*)"
                    " echo 'refusing: protected' >&2; exit 1;; esac; done\n")
    hook.chmod(0o755)
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_EXPORT_BRANCH=BRANCH))
    result = deliver(app, origin)
    failed = result["export_branch"]
    assert isinstance(failed, dict) and failed["pushed"] is False
    assert "git push failed" in str(failed["error"]) and origin.tip(BRANCH) == "0" * 40
    assert result["status"]["stale"] == 0  # type: ignore[index]  # the map is right anyway
    # and without the setting nothing is tried at all
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_DATA_DIR=str(tmp_path / "off")))
    assert "export_branch" not in deliver(app, origin)


HEADER = "---\n# generated by float-hooks export: change it with float-hooks, not by hand\n"


def test_a_page_the_map_could_not_read_is_never_overwritten(tmp_path: Path) -> None:
    o = Origin(tmp_path)
    conflicted = (HEADER + "kind: folder\npath: /src\n<<<<<<< HEAD\ncontext_what: ours\n"
                  "=======\ncontext_what: theirs, DECISION-XYZ\n>>>>>>> b\n---\n\nbody\n")
    o.commit({"src/app.py": "x\n", ".float/project/src/_folder.md": conflicted}, "i")
    app = create_app(app_config(tmp_path, o, FLOAT_ON_PUSH="regenerate", FLOAT_WORKER="off",
                                FLOAT_EXPORT_BRANCH=BRANCH))
    result = deliver(app, o)
    assert result["sync"]["skipped_pages"]  # type: ignore[index]
    refused = result["export_branch"]
    assert isinstance(refused, dict) and refused["pushed"] is False
    assert "could not read" in str(refused["error"]) and "src/_folder.md" in str(refused["error"])
    assert o.tip(BRANCH) == "0" * 40
    # mended (the conflict resolved by hand): the next push goes through
    o.commit({".float/project/src/_folder.md": "hand-written notes\n"}, "mend")
    assert deliver(app, o)["export_branch"]["pushed"] is True  # type: ignore[index]


def test_the_branch_the_map_follows_is_never_written_even_by_a_resync(tmp_path: Path,
                                                                      origin: Origin) -> None:
    from tests.webhook_support import auth

    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_EXPORT_BRANCH="main"))
    deliver(app, origin)
    origin.commit({"src/app.py": "y\n"}, "second")
    origin.work.git("push", "-q", "origin", "HEAD:refs/heads/main")  # no delivery: a resync
    tip = origin.tip("main")
    assert app.test_client().post("/repos/acme/widgets/sync", headers=auth()).status_code == 202
    app.extensions["float_worker"].run_until_idle()
    last = rows(app)[-1]
    assert last["state"] == "done", last
    assert "tracked branch" in last["result"]["export_branch"]["error"]
    assert origin.tip("main") == tip


def test_someone_elses_commit_on_the_branch_is_kept(tmp_path: Path, origin: Origin) -> None:
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off", FLOAT_EXPORT_BRANCH=BRANCH))
    first = deliver(app, origin)["export_branch"]["commit"]  # type: ignore[index]
    # a reviewer fixes a page on the branch
    review = init_repo(tmp_path / "review")
    review.git("fetch", "-q", str(origin.bare), f"refs/heads/{BRANCH}")
    review.git("checkout", "-q", "-b", "fix", "FETCH_HEAD")
    review.write(".float/project/src/fix.md", "a reviewer's note\n")
    fixed = review.commit("reviewer's fix-up")
    review.git("push", "-q", str(origin.bare), f"HEAD:refs/heads/{BRANCH}")
    origin.commit({"src/app.py": '"""The app, v2."""\n'})
    refused = deliver(app, origin)["export_branch"]
    assert isinstance(refused, dict) and "did not make" in str(refused["error"])
    assert origin.tip(BRANCH) == fixed != first
    # the branch merged and deleted (GitHub's auto-delete): the next one is pushed anew
    GitRepo(origin.bare).git("update-ref", "-d", f"refs/heads/{BRANCH}")
    again = deliver(app, origin)["export_branch"]
    assert isinstance(again, dict) and again["pushed"] is True
    assert origin.tip(BRANCH) == again["commit"]


def test_odd_trees_fail_the_push_alone(tmp_path: Path) -> None:
    o = Origin(tmp_path)
    o.work.git("config", "core.protectNTFS", "false")
    # a path libgit2 refuses to index, and a file where the export directory goes
    o.commit({"git~1/a.py": "x\n", "src/b.py": "y\n", ".float/project": "not a folder\n"}, "i")
    app = create_app(app_config(tmp_path, o, FLOAT_ON_PUSH="regenerate", FLOAT_WORKER="off",
                                FLOAT_EXPORT_BRANCH=BRANCH))
    result = deliver(app, o)  # done: the map is right whatever the push did
    refused = result["export_branch"]
    assert isinstance(refused, dict) and refused["pushed"] is False
    assert "a file stands where the export directory goes" in str(refused["error"])
    assert "\n" not in str(refused["error"])


def test_what_the_push_reads_of_anyones_export_is_bounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from float_hooks.pages import reader as pages_module

    monkeypatch.setattr(pages_module, "MAX_EXPORT_BYTES", 1000)
    page = HEADER + "kind: index\nnote: " + "x" * 500 + "\n---\n"  # ~600 bytes, no records
    o = Origin(tmp_path)
    # one page under 300 names: git stores it once, and it is read once
    o.commit({"src/app.py": "x\n", **{f".float/project/old/p{i}.md": page for i in range(300)}})
    app = create_app(app_config(tmp_path, o, FLOAT_ON_PUSH="regenerate", FLOAT_WORKER="off",
                                FLOAT_EXPORT_BRANCH=BRANCH))
    pushed = deliver(app, o)["export_branch"]
    assert isinstance(pushed, dict) and pushed["pushed"] is True, pushed
    # two different pages: over the bound, refused in one line, nothing pushed
    o.commit({".float/project/old/a.md": page + "a\n", ".float/project/old/b.md": page + "b\n"})
    refused = deliver(app, o)["export_branch"]
    assert isinstance(refused, dict) and refused["pushed"] is False
    assert "of pages; nothing pushed" in str(refused["error"])
