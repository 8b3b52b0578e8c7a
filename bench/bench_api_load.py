"""Bounded loopback load on `leadledger serve`: batched ingest, single events, the contact read.

    python bench/bench_api_load.py --workdir /tmp/apiload                      # 10,000 contacts, built here
    python bench/bench_api_load.py --workdir /tmp/apiload1m --copy-from /tmp/b1m/analytics.db

Starts `leadledger serve` on a loopback port in a subprocess (one uvicorn process, SQLite), sends a
FIXED number of requests per phase and stops by itself:

1. `POST /events:batch`: `--batches` × `--batch-size` new events, one after the other → events/s.
2. `POST /events`: `--single` single events, open loop at `--rate` requests/s (a request is due
   every 1/rate s whether or not earlier ones answered; latency counts from when it was due, so a
   stalled server is not hidden by a waiting client).
3. `GET /contacts/{id}` (JSON), then the dashboard's record page `/ui/contacts/{id}` when it is
   there: `--reads` random contacts each, open loop at `--read-rate`.

Client and server share the machine; the load average before and after is recorded with the
figures in bench/results/api-load-<contacts>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).parent / "results"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), in ms."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))] * 1000


def summary(latencies: list[float], wall: float, n_ok: int, n: int) -> dict[str, Any]:
    """Throughput and latency percentiles of one phase."""
    return {
        "requests": n, "ok": n_ok, "seconds": round(wall, 2), "per_second": round(n / wall, 1),
        "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1),
        "p99_ms": round(pct(latencies, 99), 1), "max_ms": round(max(latencies) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, phase: Any, *args: Any) -> dict[str, Any]:
    """Run one phase; add the server's CPU time per request (less sensitive to a busy machine), the
    client's own CPU (it shares the cores) and the load average at the end of the phase."""
    before, client_before = cpu_seconds(pid), cpu_seconds(os.getpid())
    out: dict[str, Any] = phase(*args)
    used = cpu_seconds(pid) - before
    out["server_cpu_s"] = round(used, 2)
    out["server_cpu_ms_per_request"] = round(1000 * used / out["requests"], 2)
    out["client_cpu_s"] = round(cpu_seconds(os.getpid()) - client_before, 2)
    out["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
    return out


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_small(db: Path, contacts: int) -> None:
    """A fresh database with `contacts` contacts, loaded through the CSV import."""
    from leadledger.services.importing import import_csv
    from leadledger.services.setup import init_database
    from leadledger.store.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    init_database(engine, model="lead-first", now=datetime.now(UTC))
    csv = db.with_suffix(".contacts.csv")
    csv.write_text("email,first_name,last_name,company,source\n" + "".join(
        f"c{i}@load{i % 500}.com,First{i},Last{i},Load {i % 500},webinar\n" for i in range(contacts)))
    import_csv(engine, "contacts", csv, now=datetime.now(UTC))
    engine.dispose()


def prepare(args: argparse.Namespace) -> Path:
    """The database file: built, or copied from `--copy-from` and migrated to the newest schema."""
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "api.db"
    if db.exists() and not args.fresh:
        return db
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if args.copy_from:
        t = time.perf_counter()
        shutil.copyfile(args.copy_from, db)
        from leadledger.store.db import make_engine, upgrade

        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)  # the new tables (users, api_keys, predictions); nothing recounted
        engine.dispose()
        print(f"copied and migrated {args.copy_from} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    else:
        build_small(db, args.contacts)
    return db


def admin_key(db: Path) -> tuple[str, list[int], list[str]]:
    """A fresh admin key, and sample contact ids and emails to aim at."""
    from sqlalchemy import text

    from leadledger.services.auth import create_api_key
    from leadledger.store.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    _, secret = create_api_key(engine, f"load-{uuid.uuid4().hex[:8]}", "admin", "bench", datetime.now(UTC))
    with engine.connect() as conn:
        hi = conn.execute(text("SELECT max(id) FROM contacts")).scalar_one()
        rng = random.Random(7)
        ids = sorted({rng.randint(1, hi) for _ in range(4000)})
        in_list = ",".join(map(str, ids))
        rows = conn.execute(text(f"SELECT id, email FROM contacts WHERE id IN ({in_list})")).all()
    engine.dispose()
    return secret, [r.id for r in rows], [r.email for r in rows]


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    """`leadledger serve` in a subprocess; returns once /healthz answers."""
    env = {**os.environ, "LEADLEDGER_SECRET_KEY": "bench"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadledger", "--db", f"sqlite:///{db}", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
    proc.kill()
    raise SystemExit("server did not answer /healthz within 60 s")


def batches(base: str, headers: dict[str, str], emails: list[str], n: int, size: int,
            concurrency: int = 1) -> dict[str, Any]:
    """`n` batches of `size` new events, `concurrency` in flight at a time (1: one after the other)."""
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    rng = random.Random(1)
    types = ["page_view", "email_open", "email_click", "content_download", "webinar_attended"]
    bodies = [json.dumps({"events": [
        {"event_id": f"{run}-{b}-{i}", "email": rng.choice(emails), "type": rng.choice(types),
         "occurred_at": (now - timedelta(minutes=rng.randint(1, 500_000))).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i in range(size)]}).encode() for b in range(n)]
    lat: list[float] = [0.0] * n
    created: list[int] = [0] * n
    local = threading.local()

    def send(b: int) -> None:
        t = time.perf_counter()
        if CLIENT == "http.client":
            conn = getattr(local, "raw", None)
            if conn is None:
                host, port = base.removeprefix("http://").split(":")
                conn = local.raw = http.client.HTTPConnection(host, int(port), timeout=120)
            conn.request("POST", "/events:batch", body=bodies[b],
                         headers={**headers, "Content-Type": "application/json"})
            r = conn.getresponse()
            status, payload = r.status, r.read()
        else:
            c = getattr(local, "c", None)
            if c is None:
                c = local.c = httpx.Client(
                    base_url=base, headers={**headers, "content-type": "application/json"}, timeout=120)
            resp = c.post("/events:batch", content=bodies[b])
            status, payload = resp.status_code, resp.content
        lat[b] = time.perf_counter() - t
        if status == 200:
            created[b] = json.loads(payload)["counts"].get("created", 0)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(send, range(n)))
    wall = time.perf_counter() - t0
    out = summary(lat, wall, sum(1 for c in created if c), n)
    out.update(events=n * size, created=sum(created), events_per_second=round(n * size / wall),
               concurrency=concurrency)
    return out


CLIENT = "http.client"  # or "httpx" (--client): the figures before 2026-11-23 17:00 used httpx


def _raw_request(local: threading.local, base: str, headers: dict[str, str], method: str, path: str,
                 body: Any) -> int:
    """One keep-alive request through http.client (≈ 4× less client CPU than httpx, which on a
    2-core machine otherwise takes more CPU than the server it measures)."""
    conn = getattr(local, "raw", None)
    if conn is None:
        host, port = base.removeprefix("http://").split(":")
        conn = local.raw = http.client.HTTPConnection(host, int(port), timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {**headers, "Content-Type": "application/json"} if data is not None else headers
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        conn.close()
        local.raw = None
        return 0


def open_loop(base: str, headers: dict[str, str], n: int, rate: float, make: Any, threads: int = 64
              ) -> dict[str, Any]:
    """`n` requests due every 1/rate s; latency from when each was due to its answer."""
    local = threading.local()
    lat: list[float] = [0.0] * n
    codes: list[int] = [0] * n

    def client() -> httpx.Client:
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = httpx.Client(base_url=base, headers=headers, timeout=30)
        return c

    def one(i: int, due: float) -> None:
        method, path, body = make(i)
        if CLIENT == "http.client":
            codes[i] = _raw_request(local, base, headers, method, path, body)
            lat[i] = time.perf_counter() - due
            return
        try:
            r = client().request(method, path, json=body)
            codes[i] = r.status_code
        except httpx.HTTPError:
            codes[i] = 0
        lat[i] = time.perf_counter() - due

    with ThreadPoolExecutor(max_workers=threads) as pool:
        t0 = time.perf_counter()
        for i in range(n):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i, due)
    wall = time.perf_counter() - t0
    ok = sum(1 for c in codes if 200 <= c < 300)
    out = summary(lat, wall, ok, n)
    out["target_rate"] = rate
    out["status_counts"] = {str(c): codes.count(c) for c in sorted(set(codes))}
    return out


def main() -> None:
    """Run the three phases and record the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/apiload"))
    ap.add_argument("--copy-from", type=Path, help="an existing leadledger SQLite database to copy (e.g. 1M)")
    ap.add_argument("--contacts", type=int, default=10_000, help="contacts of a built database")
    ap.add_argument("--fresh", action="store_true", help="rebuild / recopy the database")
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=5_000)
    ap.add_argument("--batch-concurrency", type=int, default=1,
                    help="batches in flight at once (1: sequential, as measured before)")
    ap.add_argument("--single", type=int, default=3_000)
    ap.add_argument("--rate", type=float, default=300.0)
    ap.add_argument("--reads", type=int, default=2_000)
    ap.add_argument("--read-rate", type=float, default=100.0)
    ap.add_argument("--skip", default="", help="comma-separated phases to skip: batch,single,read")
    ap.add_argument("--client", choices=("http.client", "httpx"), default=CLIENT,
                    help="the HTTP client of the event phases and the JSON read (httpx: as measured "
                         "before 2026-11-23 17:00)")
    args = ap.parse_args()
    globals()["CLIENT"] = args.client
    skip = set(filter(None, args.skip.split(",")))

    db = prepare(args)
    secret, ids, emails = admin_key(db)
    port = free_port()
    load_before = os.getloadavg()
    proc = start_server(db, port)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {secret}"}
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "cpus": os.cpu_count(), "contacts_sampled": len(ids), "database": str(db),
        "database_bytes": db.stat().st_size, "loadavg_before": [round(x, 2) for x in load_before],
        "client": args.client,
    }
    try:
        results["contacts"] = _count(db)
        if "batch" not in skip:
            results["batch"] = measured(proc.pid, batches, base, headers, emails, args.batches,
                                        args.batch_size, args.batch_concurrency)
            print("batch", results["batch"], file=sys.stderr)
        if "single" not in skip:
            run = uuid.uuid4().hex[:8]
            rng = random.Random(2)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            results["single"] = measured(proc.pid, open_loop, base, headers, args.single, args.rate,
                                         lambda i: (
                "POST", "/events", {"event_id": f"s-{run}-{i}", "contact_id": rng.choice(ids),
                                    "type": "page_view", "occurred_at": stamp}))
            print("single", results["single"], file=sys.stderr)
        if "read" not in skip:
            rng = random.Random(3)
            results["contact_json"] = measured(proc.pid, open_loop, base, headers, args.reads, args.read_rate,
                                               lambda i: ("GET", f"/contacts/{rng.choice(ids)}", None))
            print("contact_json", results["contact_json"], file=sys.stderr)
            probe = httpx.get(f"{base}/ui/contacts/{ids[0]}", headers=headers, follow_redirects=False)
            if probe.status_code == 200:
                results["contact_page"] = measured(
                    proc.pid, open_loop, base, headers, args.reads, args.read_rate,
                    lambda i: ("GET", f"/ui/contacts/{rng.choice(ids)}", None))
                print("contact_page", results["contact_page"], file=sys.stderr)
            else:
                results["contact_page"] = {"skipped": f"/ui/contacts answered {probe.status_code}"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"api-load-{results['contacts']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def _count(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT max(id) FROM contacts").fetchone()[0])


if __name__ == "__main__":
    main()
