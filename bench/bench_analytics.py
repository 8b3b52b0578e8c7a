"""Analytics benchmark: funnel, forecast and the ledger audit over the bench_scale database.

    python bench/bench_scale.py --workdir /tmp/b1m          # once: 1M contacts, 20M events (~10 min)
    python bench/bench_analytics.py --workdir /tmp/b1m      # copies bench.db to analytics.db, enriches it

The copy gets a realistic year of funnel history first (`analytics_data.py`: ledger journeys,
evidence, deals, spend, planted flaws), written around the application, so `leadledger init` then
upgrades its schema and counts the funnel summary from the ledger (timed as `prepare`). Later runs
reuse it (`--fresh` rebuilds it). Each step runs in its own process, `--repeat` times, so its peak
memory (VmHWM) is its own; results go to bench/results/analytics-<contacts>.json, where the steps
that ran replace their earlier entries and the others' stay.

A step is one function registered with `@step("name")` that takes the engine and returns a few
figures to record; `--steps` picks which run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analytics_data import copy_database, enrich
from bench_scale import NOW, peak_mib
from sqlalchemy import Engine

Step = Callable[[Engine], dict[str, Any]]
STEPS: dict[str, Step] = {}


def step(name: str) -> Callable[[Step], Step]:
    """Register a timed step."""

    def register(fn: Step) -> Step:
        STEPS[name] = fn
        return fn

    return register


@step("funnel")
def funnel(engine: Engine) -> dict[str, Any]:
    """`leadledger funnel`: cohorts, periods, time in stage, SLA, sources, economics (last 12 months)."""
    from leadledger.services.funnel import funnel_report

    r = funnel_report(engine, NOW)
    total = r.cohorts[-1]
    return {"cohort_contacts": total.size, "reached": {s.stage: s.contacts for s in total.stages}}


@step("forecast")
def forecast(engine: Engine) -> dict[str, Any]:
    """`leadledger forecast`: open pipeline weighted by stage; won = signed AND booked."""
    from leadledger.services.funnel import forecast_report

    r = forecast_report(engine, NOW).report
    return {"open_deals": r.open_deals, "won_deals": r.won_deals, "lacking": r.deals_lacking_evidence}


@step("audit")
def audit(engine: Engine) -> dict[str, Any]:
    """`leadledger audit` on the ledger: every rule LL001–LL015, totals."""
    from leadledger.services.audit.ledger import audit_ledger

    r = audit_ledger(engine, NOW)
    return {"findings": len(r.findings), "by_rule": {s.rule.id: s.count for s in r.summary() if s.count}}


@step("replay")
def replay(engine: Engine) -> dict[str, Any]:
    """`leadledger replay --policy lead-first-threshold-80.yaml`: both funnels over the whole history."""
    from leadledger.services.replay import load_replay_policy, replay_report

    policy = Path(__file__).parent.parent / "docs/examples/policies/lead-first-threshold-80.yaml"
    r = replay_report(engine, load_replay_policy(str(policy)))
    return {
        "flagged": {"baseline": sum(r.baseline.flagged_by_month.values()),
                    "replayed": sum(r.replayed.flagged_by_month.values())},
        "newly_flagged": r.newly_flagged,
        "no_longer_flagged": r.no_longer_flagged,
    }


def prepare(engine: Engine) -> dict[str, Any]:
    """`leadledger init` on the enriched copy: schema upgrade, and the funnel summary counted afresh."""
    from leadledger.services.setup import init_database

    init_database(engine, model="lead-first", now=NOW)
    return {}


def run_step(name: str, db: str) -> None:
    """Run one step in this process and print its JSON result (called in a subprocess)."""
    from leadledger.store.db import make_engine

    engine = make_engine(db)
    gc.freeze()  # as `leadledger`'s entry point does after its imports (src/leadledger/cli/__init__.py)
    t = time.perf_counter()
    result = (prepare if name == "prepare" else STEPS[name])(engine)
    seconds = time.perf_counter() - t
    print(json.dumps({"step": name, "seconds": seconds, "peak_mib": peak_mib(), **result}))


def measure(name: str, db: str, repeat: int) -> dict[str, Any]:
    """Run a step `repeat` times in fresh processes; keep every time, the median and the last result."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "_step", name, db], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            sys.exit(f"step {name} failed:\n{proc.stderr}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    times = [r["seconds"] for r in runs]
    return {
        **runs[-1],
        "seconds": statistics.median(times),
        "runs_s": times,
        "peak_mib": max(r["peak_mib"] for r in runs),
    }


def main() -> None:
    """Prepare the analytics database, time each step, print and save the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="where bench_scale.py left bench.db")
    ap.add_argument("--fresh", action="store_true", help="recopy and re-enrich analytics.db")
    ap.add_argument("--repeat", type=int, default=3, help="runs per step (the median is reported)")
    ap.add_argument("--steps", nargs="*", default=list(STEPS), choices=list(STEPS))
    args = ap.parse_args()
    source, target = args.workdir / "bench.db", args.workdir / "analytics.db"
    if args.fresh or not target.exists():
        t = time.perf_counter()
        copy_database(source, target)
        print(f"copied {source} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    t = time.perf_counter()
    data = enrich(target, NOW)
    print(f"analytics data ready in {time.perf_counter() - t:.1f} s: {data}", file=sys.stderr)
    db = f"sqlite:///{target}"
    prepared = measure("prepare", db, 1)
    print(f"prepared (init: upgrade, funnel summary) in {prepared['seconds']:.1f} s", file=sys.stderr)
    results = []
    for name in args.steps:
        r = measure(name, db, args.repeat)
        results.append(r)
        runs = ", ".join(f"{s:.2f}" for s in r["runs_s"])
        print(f"{name:<10} {r['seconds']:8.2f} s  ({runs})  peak {r['peak_mib']:7.0f} MiB", file=sys.stderr)
    summary = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "now": NOW.isoformat(),
        "data": data,
        "database": "sqlite",
        "prepare": prepared,
        "steps": results,
    }
    print(json.dumps(summary, indent=2))
    out = Path(__file__).parent / "results" / f"analytics-{data['contacts']}.json"
    out.write_text(json.dumps(merged(out, summary), indent=2) + "\n")


def merged(out: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """`summary` with the steps it did not run kept from the results already in `out`.

    A run of some steps (`--steps funnel`) replaces those steps' entries only: the others were
    measured by earlier runs and stay, in their order, with the new steps after them.
    """
    if not out.exists():
        return summary
    new = {r["step"]: r for r in summary["steps"]}
    steps = []
    for r in json.loads(out.read_text()).get("steps", []):
        if r["step"] not in new:
            steps.append(r)
        elif new[r["step"]] not in steps:  # the new entry takes the old one's place
            steps.append(new[r["step"]])
    return {**summary, "steps": steps + [r for r in new.values() if r not in steps]}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_step":
        run_step(sys.argv[2], sys.argv[3])
    else:
        main()
