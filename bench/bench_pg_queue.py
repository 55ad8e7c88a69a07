"""The PostgreSQL (procrastinate) mode of the webhook server against the embedded SQLite one.

1. Acknowledgement latency: ``--concurrency`` (100) signed pushes to the tracked branch sent
   at once to gunicorn (the production command, ``FLOAT_WORKER=off``: the request records and
   enqueues, nothing else runs), p50/p99 over ``--rounds`` rounds after a warm-up; the SQLite
   queue, then PostgreSQL (a throwaway server started here, fsync on), with
   ``synchronous_commit`` on (default) and off (what SQLite's WAL + synchronous=NORMAL is).
2. Regeneration throughput: a repository of ``--folders`` leaf folders, a ``command``
   regenerator that answers after 200 ms (the mock model); leaf answers per second with 1
   regeneration worker and with 4 (one request at a time each).
3. Push-to-stale-visible: two web hosts and one sync worker; commit 10 files in 10 folders,
   push, deliver to the first host, poll the second host's ``/stale`` until they are there.

    python bench/bench_pg_queue.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_webhook import TOKEN, ZERO, Server, ack_latency, burst, free_port, signed  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pg_server import PgServer, find_bin  # noqa: E402

MOCK = """#!/bin/sh
cat > /dev/null
sleep 0.2
echo '{"map_summary": "s", "map_children": [], "context_what": "w", "context_why": "y",
 "context_patterns": []}'
"""


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def origin(tmp: Path, full_name: str, files: dict[str, str]) -> tuple[Path, str]:
    bare = tmp / "origin" / f"{full_name}.git"
    work = tmp / "work" / full_name
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    return push_files(work, bare, files), str(bare)


def push_files(work: Path, bare: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "c")
    git(work, "push", "-q", str(bare), "HEAD:refs/heads/main")
    return git(work, "rev-parse", "HEAD")


def deliver(server: Server, full_name: str, before: str, after: str) -> None:
    from bench_webhook import payload

    body, headers = signed(payload(full_name, "refs/heads/main", before, after))
    status, answer = server.request("POST", "/webhook", body, headers)
    assert status == 202, answer


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def wait(cond: Any, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.02)


def acks(tmp: Path, args: argparse.Namespace, url: str | None, name: str) -> dict[str, float]:
    os.environ["FLOAT_WORKER"] = "off"
    if url:
        os.environ["FLOAT_DATABASE_URL"] = url
    try:
        # the documented command (docs/server.md): 2 processes of 32 threads each
        server = Server(tmp / name, str(tmp / "origin") + "/{full_name}.git", args.workers,
                        args.threads)
        try:
            return ack_latency(server, args.concurrency, args.rounds, ref="refs/heads/main")
        finally:
            server.stop()
    finally:
        os.environ.pop("FLOAT_DATABASE_URL", None)
        os.environ.pop("FLOAT_WORKER", None)


def worker(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", module], cwd=ROOT,
                                env={**os.environ, **env}, stdout=out, stderr=out)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def regen_throughput(tmp: Path, pg: PgServer, n_workers: int, folders: int) -> float:
    url = pg.new_database()
    mock = tmp / "mock.sh"
    mock.write_text(MOCK)
    mock.chmod(0o755)
    full_name = f"bench/regen{n_workers}"
    files = {f"f{i:03d}/m.py": f"x = {i}\n" for i in range(folders)}
    files[".float/config.toml"] = f'[regenerate]\nkind = "command"\ncommand = "{mock}"\n'
    after, _ = origin(tmp, full_name, files)
    env = {"FLOAT_WEBHOOK_SECRET": "bench-secret", "FLOAT_API_TOKEN": TOKEN,
           "FLOAT_GIT_URL_TEMPLATE": str(tmp / "origin") + "/{full_name}.git",
           "FLOAT_DATABASE_URL": url, "FLOAT_ON_PUSH": "regenerate",
           "FLOAT_TRUST_REPO_CONFIG": "1", "FLOAT_DATA_DIR": str(tmp / f"sync{n_workers}"),
           "FLOAT_WORKER": "off"}
    procs = [worker("webhook.worker", env, tmp / "sync.log")]
    procs += [worker("webhook.regen_worker", {**env, "FLOAT_WORKER_THREADS": "1"},
                     tmp / "regen.log") for _ in range(n_workers)]
    os.environ.update({k: v for k, v in env.items() if k != "FLOAT_DATA_DIR"})
    server = Server(tmp / f"web{n_workers}", env["FLOAT_GIT_URL_TEMPLATE"], 1, 1)
    try:
        deliver(server, full_name, ZERO, after)
        wait(lambda: query(url, "SELECT count(*) FROM float_answers WHERE path != '/'")[0][0]
             >= folders)
        (t0, t1), = query(url, "SELECT min(r.requested_at), max(a.answered_at) FROM"
                               " float_regen_requests r, float_answers a WHERE r.path != '/'"
                               " AND a.path != '/'")
        return folders / (t1 - t0)
    finally:
        server.stop()
        stop(procs)
        os.environ.pop("FLOAT_DATABASE_URL", None)


def stale_visible(tmp: Path, pg: PgServer, runs: int) -> list[float]:
    url = pg.new_database()
    full_name = "bench/stale"
    files = {f"d{i:02d}/s{j:02d}/f.py": f"{i} {j}\n" for i in range(20) for j in range(20)}
    after, bare = origin(tmp, full_name, files)
    env = {"FLOAT_WEBHOOK_SECRET": "bench-secret", "FLOAT_API_TOKEN": TOKEN,
           "FLOAT_GIT_URL_TEMPLATE": str(tmp / "origin") + "/{full_name}.git",
           "FLOAT_DATABASE_URL": url, "FLOAT_ON_PUSH": "regenerate", "FLOAT_WORKER": "off"}
    # the first push: the built-in regenerator writes every folder's context, so that an
    # edit makes folders stale (a folder without context is pending, never stale)
    sync_env = {**env, "FLOAT_DATA_DIR": str(tmp / "s-sync")}
    procs = [worker("webhook.worker", sync_env, tmp / "stale-sync.log")]
    os.environ.update(env)
    webs = [Server(tmp / f"s-web{i}", env["FLOAT_GIT_URL_TEMPLATE"], 1, 1) for i in (1, 2)]
    times = []
    try:
        deliver(webs[0], full_name, ZERO, after)

        def regenerated() -> bool:
            status = webs[1].api(f"/repos/{full_name}/status") or {}
            return status.get("head") == after and not status.get("pending", 1)

        wait(regenerated)
        # then pushes only mark folders stale (as with FLOAT_ON_PUSH=queue): what is timed
        # is the push until the other host shows its stale folders
        stop(procs)
        procs = [worker("webhook.worker", {**sync_env, "FLOAT_ON_PUSH": "queue"},
                        tmp / "stale-sync-2.log")]
        work = tmp / "work" / full_name
        for run in range(runs):
            before = after
            edits = {f"d{run:02d}/s{j:02d}/f.py": f"edit {run}\n" for j in range(10)}
            after = push_files(work, Path(bare), edits)
            t0 = time.perf_counter()
            deliver(webs[0], full_name, before, after)
            want = {f"/d{run:02d}/s{j:02d}" for j in range(10)}

            def visible(want: set[str] = want) -> bool:
                stale = webs[1].api(f"/repos/{full_name}/stale") or []
                return want <= {s["path"] for s in stale}

            wait(visible)
            times.append(time.perf_counter() - t0)
    finally:
        for w in webs:
            w.stop()
        stop(procs)
        os.environ.pop("FLOAT_DATABASE_URL", None)
    return times


def burst_drain(tmp: Path, pg: PgServer, n: int) -> dict[str, dict[str, float]]:
    """A burst of ``n`` deliveries of one repository, recorded with no worker running, then
    drained: seconds from the worker's start to every delivery settled, against one
    delivery drained the same way (the baseline: one sync), per mode."""
    full_name = "bench/burst"
    files = {f"d{i:02d}/f{j}.py": f"{i} {j}\n" for i in range(50) for j in range(4)}
    after, _ = origin(tmp, full_name, files)
    template = str(tmp / "origin") + "/{full_name}.git"
    out: dict[str, dict[str, float]] = {}
    for mode in ("sqlite", "pg"):
        url = pg.new_database() if mode == "pg" else None
        data = tmp / f"burst-{mode}"
        env = {"FLOAT_WEBHOOK_SECRET": "bench-secret", "FLOAT_API_TOKEN": TOKEN,
               "FLOAT_GIT_URL_TEMPLATE": template, "FLOAT_ON_PUSH": "queue",
               "FLOAT_WORKER": "off", "FLOAT_DATA_DIR": str(data / "worker"),
               **({"FLOAT_DATABASE_URL": url} if url else {})}
        os.environ.update({k: v for k, v in env.items() if k != "FLOAT_DATA_DIR"})
        # the embedded worker shares the web host's data directory; a PG one has its own
        server = Server(data / "worker" if url is None else data / "web", template, 2, 32)
        try:
            drain(tmp, server, full_name, after, 1, url, env)  # builds the map: not compared
            one = drain(tmp, server, full_name, after, 1, url, env)
            burst = drain(tmp, server, full_name, after, n, url, env)
            out[mode] = {"one": one, "burst": burst}
        finally:
            server.stop()
            os.environ.pop("FLOAT_DATABASE_URL", None)
            os.environ.pop("FLOAT_WORKER", None)
    return out


def drain(tmp: Path, server: Server, full_name: str, after: str, count: int,
          url: str | None, env: dict[str, str]) -> float:
    """Deliver ``count`` pushes, then time a worker from its start to the queue empty."""
    for _ in range(count):
        deliver(server, full_name, after, after)
    t0 = time.perf_counter()
    if url is None:
        subprocess.run([sys.executable, "-m", "webhook.worker", "--until-idle"], cwd=ROOT,
                       env={**os.environ, **env}, check=True, capture_output=True)
    else:
        procs = [worker("webhook.worker", env, tmp / "burst-sync.log")]
        try:
            wait(lambda: query(url, "SELECT count(*) FROM float_deliveries WHERE state IN"
                                    " ('queued', 'running')")[0][0] == 0)
        finally:
            stop(procs)
    return time.perf_counter() - t0


def print_burst(n: int, out: dict[str, dict[str, float]]) -> None:
    for mode, t in out.items():
        print(f"burst of {n} deliveries of one repository drained, {mode}: {t['burst']:.2f} s"
              f" (one delivery the same way: {t['one']:.2f} s; x{t['burst'] / t['one']:.2f})")


def print_stale(times: list[float]) -> None:
    print(f"push-to-stale-visible on the other web host: median"
          f" {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
          f" ({len(times)} runs)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--folders", type=int, default=40)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn processes (-w)")
    ap.add_argument("--threads", type=int, default=32, help="gunicorn threads (gthread)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--acks-only", action="store_true",
                    help="only the acknowledgement figures")
    ap.add_argument("--burst", type=int, default=500,
                    help="deliveries in the burst drained in both modes")
    ap.add_argument("--burst-only", action="store_true", help="only the burst figures")
    ap.add_argument("--stale-only", action="store_true",
                    help="only the push-to-stale-visible figure")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.folders, args.runs, args.burst = 1, 12, 2, 20
    bindir = find_bin()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" load {os.getloadavg()[0]:.2f} (1 min) at the start")
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as t:
        tmp = Path(t)
        pg = PgServer(bindir, fsync="on", full_page_writes="on")
        try:
            if args.stale_only:
                print_stale(stale_visible(tmp, pg, args.runs))
                return 0
            if args.burst_only:
                print_burst(args.burst, burst_drain(tmp, pg, args.burst))
                print(f"# load {os.getloadavg()[0]:.2f} (1 min) after the bursts")
                return 0
            out: dict[str, Any] = {}
            out["sqlite"] = acks(tmp, args, None, "sqlite")
            out["pg"] = acks(tmp, args, pg.new_database(), "pg")
            out["pg_async_commit"] = acks(
                tmp, args, pg.new_database() + "?options=-c%20synchronous_commit%3Doff",
                "pg-async")
            for k in ("sqlite", "pg", "pg_async_commit"):
                a = out[k]
                print(f"acks {k:16s} n={a['n']} p50 {a['p50']:.1f} ms  p99 {a['p99']:.1f} ms"
                      f"  (x{a['p99'] / out['sqlite']['p99']:.2f} of SQLite's p99)")
            print(f"# gunicorn -w {args.workers} -k gthread --threads {args.threads};"
                  f" load {os.getloadavg()[0]:.2f} (1 min) after the acks")
            if args.acks_only:
                print(json.dumps(out))
                return 0
            one = regen_throughput(tmp, pg, 1, args.folders)
            four = regen_throughput(tmp, pg, 4, args.folders)
            print(f"regeneration, 200 ms model, {args.folders} folders: 1 worker {one:.2f}/s,"
                  f" 4 workers {four:.2f}/s: x{four / one:.2f}")
            times = stale_visible(tmp, pg, args.runs)
            print_stale(times)
            print_burst(args.burst, burst_drain(tmp, pg, args.burst))
            print(json.dumps({**out, "regen_1": one, "regen_4": four, "stale_s": times}))
        finally:
            pg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
