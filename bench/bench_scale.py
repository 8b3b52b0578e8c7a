"""Scale benchmark: generate N accounts / contacts / events, time import and score, report peak memory.

    python bench/bench_scale.py                       # 100k accounts, 1M contacts, 20M events
    python bench/bench_scale.py --contacts 100000 --events 2000000 --accounts 10000

Each phase runs in its own process so its peak memory (max RSS) is its own. Results are printed
as a table and written to bench/results/scale-<contacts>.json; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

NOW = datetime(2026, 11, 1, tzinfo=UTC)
INDUSTRIES = ["software", "financial services", "healthcare", "manufacturing", "retail", "education"]
COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "BR", "IN"]
SENIORITY = ["c_level", "vp", "director", "manager", "individual"]
SOURCES = ["form_fill", "content_download", "webinar", "list_import", "newsletter", "outbound"]
# Event mix: opens and page views dominate, intent signals are rare (probabilities sum to 1).
EVENT_TYPES = {
    "email_open": 0.34,
    "page_view": 0.30,
    "email_click": 0.12,
    "pricing_page_view": 0.05,
    "content_download": 0.05,
    "webinar_attended": 0.03,
    "form_fill": 0.03,
    "demo_request": 0.01,
    "reply": 0.03,
    "meeting_held": 0.01,
    "unsubscribe": 0.02,
    "bounce": 0.01,
}


def generate(folder: Path, n_accounts: int, n_contacts: int, n_events: int, seed: int = 1) -> dict[str, Path]:
    """Write accounts.csv, contacts.csv and events.csv in leadledger's own format."""
    rng = np.random.default_rng(seed)
    domains = pl.Series([f"company{i}.com" for i in range(n_accounts)])
    pl.DataFrame(
        {
            "domain": domains,
            "name": pl.Series([f"Company {i}" for i in range(n_accounts)]),
            "industry": rng.choice(INDUSTRIES, n_accounts),
            "employees": rng.lognormal(4, 1.6, n_accounts).astype(int) + 1,
            "annual_revenue": rng.lognormal(15, 1.5, n_accounts).round(0),
            "country": rng.choice(COUNTRIES, n_accounts),
        }
    ).write_csv(folder / "accounts.csv")
    acc = rng.integers(0, n_accounts, n_contacts)
    created = NOW - timedelta(days=400)
    pl.DataFrame(
        {
            "email": pl.Series([f"p{i}@company{a}.com" for i, a in enumerate(acc)]),
            "first_name": "Pat",
            "last_name": pl.Series([f"N{i}" for i in range(n_contacts)]),
            "account_domain": pl.Series([f"company{a}.com" for a in acc]),
            "seniority": rng.choice(SENIORITY, n_contacts),
            "source": rng.choice(SOURCES, n_contacts),
            "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
        }
    ).write_csv(folder / "contacts.csv")
    who = rng.integers(0, n_contacts, n_events)
    ages = rng.uniform(0, 365 * 86_400, n_events)
    start = NOW.replace(tzinfo=None)
    events = (
        pl.DataFrame(
            {
                "email": pl.Series(who).cast(pl.String),
                "type": rng.choice(list(EVENT_TYPES), n_events, p=list(EVENT_TYPES.values())),
                "ts": pl.Series(ages),
            }
        )
        .with_columns(
            pl.concat_str(
                [
                    pl.lit("p"),
                    pl.col("email"),
                    pl.lit("@company"),
                    pl.Series(acc[who]).cast(pl.String),
                    pl.lit(".com"),
                ]
            ).alias("email"),
            (pl.lit(start) - pl.duration(seconds=pl.col("ts")))
            .dt.strftime("%Y-%m-%d %H:%M:%S")
            .alias("occurred_at"),
        )
        .sort("occurred_at")
        # Time-ordered ids, as event pipelines emit them (ULID / snowflake style).
        .with_columns(
            event_id=pl.concat_str([pl.lit("e"), pl.int_range(0, n_events).cast(pl.String).str.zfill(10)])
        )
        .select("event_id", "email", "type", "occurred_at")
    )
    events.write_csv(folder / "events.csv")
    return {k: folder / f"{k}.csv" for k in ("accounts", "contacts", "events")}


def phase(name: str, db: str, arg: str) -> None:
    """Run one phase in this process and print its JSON result (called in a subprocess)."""
    from leadledger.services.importing import import_csv
    from leadledger.services.scoring import rescore
    from leadledger.services.setup import init_database
    from leadledger.store.db import make_engine

    engine = make_engine(db)
    t = time.perf_counter()
    result: dict[str, object] = {}
    if name == "init":
        init_database(engine, model="lead-first", now=NOW)
    elif name.startswith("import-"):
        report = import_csv(engine, name.removeprefix("import-"), Path(arg), now=NOW)
        result = {
            "rows": report.rows_read,
            "inserted": report.inserted,
            "rejected": report.rejected,
            "duplicates": report.duplicates,
        }
    elif name == "score":
        r = rescore(engine, NOW)
        result = {"rows": r.scored, "moves": dict(r.moves.moved), "above_threshold": r.above_threshold}
    seconds = time.perf_counter() - t
    peak = peak_mib()
    print(json.dumps({"phase": name, "seconds": seconds, "peak_mib": peak, **result}))


def peak_mib() -> float:
    """This process's peak resident memory in MiB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec, so a phase would report the
    generator's peak from the parent process.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floors(events_csv: Path) -> dict[str, float]:
    """The in-memory floor: a plain group-by computing decayed sums over the same events."""
    ev = pl.read_csv(events_csv, columns=["email", "occurred_at"], try_parse_dates=True)
    out: dict[str, float] = {}
    t = time.perf_counter()
    ev.lazy().with_columns(
        w=(
            -(pl.lit(NOW.replace(tzinfo=None)) - pl.col("occurred_at")).dt.total_seconds()
            / (45 * 86400)
            * 0.693147
        ).exp()
    ).group_by("email").agg(pl.col("w").sum()).collect()
    out["polars_groupby_s"] = time.perf_counter() - t
    try:
        import duckdb
    except ImportError:
        return out
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ev AS SELECT email, occurred_at::TIMESTAMP AS occurred_at "
        f"FROM read_csv('{events_csv}')"
    )
    t = time.perf_counter()
    con.execute(
        "SELECT email, sum(exp(-0.693147 * epoch(TIMESTAMP '2026-11-01' - occurred_at) / (45*86400))) "
        "FROM ev GROUP BY email"
    ).fetchall()
    out["duckdb_groupby_s"] = time.perf_counter() - t
    return out


def main() -> None:
    """Generate, import, score; print and save the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--db", help="database URL (default: a new SQLite file in a temp dir)")
    ap.add_argument("--workdir", type=Path, help="where to write the CSVs (default: a temp dir)")
    ap.add_argument("--reuse", action="store_true", help="reuse the CSVs already in --workdir")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="leadledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = args.db or f"sqlite:///{work}/bench.db"
    files = {k: work / f"{k}.csv" for k in ("accounts", "contacts", "events")}
    if not (args.reuse and all(f.exists() for f in files.values())):
        t = time.perf_counter()
        files = generate(work, args.accounts, args.contacts, args.events)
        print(f"generated data in {time.perf_counter() - t:.1f} s under {work}", file=sys.stderr)
    if args.db is None:
        for suffix in ("", "-wal", "-shm"):
            (work / f"bench.db{suffix}").unlink(missing_ok=True)
    results = []
    for name, arg in [
        ("init", ""),
        ("import-accounts", files["accounts"]),
        ("import-contacts", files["contacts"]),
        ("import-events", files["events"]),
        ("score", ""),
        ("score", ""),
    ]:
        proc = subprocess.run(
            [sys.executable, __file__, "_phase", name, db, str(arg)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"phase {name} failed:\n{proc.stderr}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if r["phase"] == "score" and any(x["phase"] == "score" for x in results):
            r["phase"] = "score (again)"
        results.append(r)
        rate = f"{r['rows'] / r['seconds']:,.0f} rows/s" if r.get("rows") else ""
        print(
            f"{r['phase']:<16} {r['seconds']:8.2f} s  peak {r['peak_mib']:7.0f} MiB  {rate}", file=sys.stderr
        )
    floor = floors(files["events"])
    summary = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "sizes": {"accounts": args.accounts, "contacts": args.contacts, "events": args.events},
        "database": db.split(":")[0],
        "phases": results,
        "floor": floor,
    }
    print(json.dumps(summary, indent=2))
    out = Path(__file__).parent / "results" / f"scale-{args.contacts}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_phase":
        phase(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
