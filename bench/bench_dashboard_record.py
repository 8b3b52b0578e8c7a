"""The dashboard's record page under a live `leadledger serve`: latency of N sequential page loads.

    python bench/bench_dashboard_record.py --db sqlite:////tmp/1m.db --requests 500

Bounded: a fixed number of requests, then it stops the server it started (by its pid). It adds a
`bench` user (sales) if missing, logs in through the login form, and loads /ui/contacts/{id} for
random contact ids (seeded), the HTML page and, as many again, its JSON twin. Prints p50/p95/p99 and
writes bench/results/dashboard-record-<contacts>.json.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from leadledger.store.db import make_engine
from leadledger.store.schema import contacts

PASSWORD = "bench-password-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    engine = make_engine(args.db)
    with engine.connect() as conn:
        lo, hi, n = conn.execute(select(func.min(contacts.c.id), func.max(contacts.c.id), func.count())).one()
    engine.dispose()
    cli = [sys.executable, "-m", "leadledger", "--db", args.db]
    subprocess.run([*cli, "user", "add", "bench", "--role", "sales", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, capture_output=True)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*cli, "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = {"username": "bench", "password": PASSWORD, "next": "/ui/queue"}
        form = urllib.parse.urlencode(login).encode()
        opener.open(base + "/auth/login", data=form, timeout=30)
        rng = random.Random(args.seed)
        results: dict[str, list[float]] = {"html": [], "json": []}
        for kind, suffix in (("html", ""), ("json", "?format=json")):
            opener.open(f"{base}/ui/contacts/{lo}{suffix}", timeout=30).read()  # warm: policy parse
            for _ in range(args.requests):
                cid = rng.randint(lo, hi)
                began = time.perf_counter()
                try:
                    opener.open(f"{base}/ui/contacts/{cid}{suffix}", timeout=30).read()
                except urllib.error.HTTPError as e:
                    if e.code != 404:  # ids are dense in generated data; a gap is not a failure
                        raise
                results[kind].append((time.perf_counter() - began) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = {
        "contacts": n,
        "requests": args.requests,
        **{
            kind: {"p50_ms": round(_quantile(xs, 0.5), 1), "p95_ms": round(_quantile(xs, 0.95), 1),
                   "p99_ms": round(_quantile(xs, 0.99), 1), "mean_ms": round(statistics.fmean(xs), 1)}
            for kind, xs in results.items()
        },
    }
    print(json.dumps(out, indent=2))
    path = Path(__file__).parent / "results" / f"dashboard-record-{n}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
