"""A first build reads the work tree's export in a forked child while it syncs
(pages/forked_read.py): the child's pages are the ones imported, and whatever happens to the
child (killed, its parent killed, another export tree by the time the build takes them), the
build reads the pages itself and nothing is lost. Real processes: the CLI, and its child
stopped at a failpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.authored_support import Ledger, kill, run_float
from tests.faults_support import make_origin
from tests.gitrepo import GitRepo
from tests.waiting import wait_until

POINT = "build:pages-read-in-child"


def _clone(tmp_path: Path) -> tuple[GitRepo, Ledger]:
    origin, ledger = make_origin(tmp_path)
    clone = tmp_path / "clone"
    origin.git("clone", "-q", str(origin.path), str(clone))
    return GitRepo(clone), ledger


def _stopped_child(parent: int) -> int:
    """The pid of ``parent``'s child once it stopped itself at its failpoint."""
    def find() -> int | None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] == b"T":
                return int(entry)
        return None

    pid = wait_until(find, f"a child of {parent} stopped at {POINT}", 60)
    assert pid is not None
    return pid


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"  # exited, not reaped yet
    except OSError:
        return True


def test_the_child_reads_the_pages_the_build_imports(tmp_path: Path) -> None:
    clone, ledger = _clone(tmp_path)
    proc = run_float(clone, "sync", env={"FLOAT_FAILPOINT": POINT})
    child = _stopped_child(proc.pid)
    time.sleep(0.2)
    assert proc.poll() is None  # the build waits for the child's pages
    os.kill(child, signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert f"float-hooks: failpoint {POINT}\n" in err.decode()
    assert "7 with context" in err.decode() + out.decode()
    assert ledger.missing(clone) == []


def test_a_killed_child_leaves_the_reading_to_the_build(tmp_path: Path) -> None:
    clone, ledger = _clone(tmp_path)
    proc = run_float(clone, "sync", env={"FLOAT_FAILPOINT": POINT})
    os.kill(_stopped_child(proc.pid), signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "7 with context" in err.decode() + out.decode()
    assert ledger.missing(clone) == []


def test_a_child_dies_with_its_build(tmp_path: Path) -> None:
    clone, ledger = _clone(tmp_path)
    proc = run_float(clone, "sync", env={"FLOAT_FAILPOINT": POINT})
    child = _stopped_child(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    # stopped at its failpoint, it would never end by itself: the kernel kills it
    wait_until(lambda: _gone(child), f"the orphaned child {child} to end", 30)
    kill(proc)
    assert ledger.missing(clone) == []  # (built again)


def test_an_interrupted_build_stops_its_child(tmp_path: Path) -> None:
    clone, ledger = _clone(tmp_path)
    # Ctrl-C as a terminal sends it: to a process whose SIGINT is not ignored (a CI job
    # started in the background inherits it ignored, and Python then keeps it so)
    proc = subprocess.Popen(
        [sys.executable, "-m", "float_hooks", "sync"], cwd=clone.path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, "FLOAT_FAILPOINT": POINT},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        child = _stopped_child(proc.pid)
        os.kill(proc.pid, signal.SIGINT)  # the build waits for the child's pages
        _out, err = proc.communicate(timeout=60)
    finally:
        kill(proc)
    assert proc.returncode == 130
    assert err.decode().count("interrupted") == 1, err.decode()  # the build's line alone
    wait_until(lambda: _gone(child), f"the child {child} to be stopped", 30)
    assert ledger.missing(clone) == []  # (built again)


def test_pages_of_another_export_tree_are_not_taken(tmp_path: Path) -> None:
    clone, _ledger = _clone(tmp_path)
    script = (
        "import sys, threading\n"
        "from float_hooks.pages import forked_read, importer\n"
        "from float_hooks.project import Project\n"
        "project = Project.discover(sys.argv[1])\n"
        "tree = importer.committed_tree(project)\n"
        "a, b = forked_read.start(project), forked_read.start(project)\n"
        "print(len(a.take(tree).data.folders), b.take('0' * 40))\n"
        "stop = threading.Event()\n"
        "threading.Thread(target=stop.wait).start()\n"
        "print(forked_read.start(project))  # threads running: no fork\n"
        "stop.set()\n")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", script, str(clone.path)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(root)},
                         check=True).stdout
    assert out.split() == ["7", "None", "None"]
