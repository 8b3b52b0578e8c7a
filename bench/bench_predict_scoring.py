"""Scoring every contact with the active predictive model: 1M contacts, 20M events, SQLite.

    python bench/bench_analytics.py --workdir /tmp/b1m                # once: /tmp/b1m/analytics.db
    OMP_NUM_THREADS=1 python bench/bench_predict_scoring.py --source /tmp/b1m/analytics.db \\
        --workdir /tmp/p1bench                                       # copies it, trains, scores

Steps, each in its own process so its peak memory (VmHWM) is its own:
  prepare  copy the database (once), `leadledger init` on the copy (schema upgrade);
  train    a model on a sample of the ledger's leads (every `--sample`th contact, as `leadledger
           train` builds rows: as of each lead's decision time), stored and made active;
  predict  `predict_all`: every contact's features set-based, encoded, predicted in chunks, written
           to `predictions` — the part `leadledger score` adds when a model is active (timed alone:
           the rule rescore beside it is measured in bench_scale.py).
Results: one JSON line per step on stdout and bench/results/predict-scoring-<contacts>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_scale import NOW, peak_mib

RESULTS = Path(__file__).parent / "results"


def _engine(db: Path) -> Any:
    from leadledger.store.db import make_engine

    return make_engine(f"sqlite:///{db}")


def prepare(db: Path, source: Path) -> dict[str, Any]:
    """Copy the analytics database once and bring its schema up to date."""
    from leadledger.services.setup import init_database

    if not db.exists():
        shutil.copyfile(source, db)
    init_database(_engine(db), model="lead-first", now=NOW)
    return {"bytes": db.stat().st_size}


def train(db: Path, sample: int) -> dict[str, Any]:
    """Train the product model on every `sample`th lead (no cross-validation) and store it active."""
    import leadledger.store.training_reads as reads
    from leadledger.services.training.ledger import LedgerOutcome, ledger_table
    from leadledger.services.training.models import fit_product
    from leadledger.services.training.registry import KIND, model_to_json
    from leadledger.store.predictive_models import save_model

    every = reads.leads_created_by
    reads.leads_created_by = lambda conn, latest: every(conn, latest)[::sample]  # type: ignore[assignment]
    engine = _engine(db)
    found = ledger_table(engine, LedgerOutcome(horizon_days=120), NOW)
    model = fit_product(found.table)
    with engine.begin() as conn:
        model_id = save_model(conn, {
            "kind": KIND, "outcome": found.mapping.name, "window_start": found.window[0],
            "window_end": found.window[1], "leads": len(found.table), "converted": found.table.positives,
            "features": json.dumps([s.name for s in found.table.features]),
            "metrics": json.dumps({"models": []}), "policy_version": "bench",
            "model": model_to_json(model, outcome_stage=found.mapping.outcome_column),
        }, activate=True, now=NOW)
    used = int((model.booster.feature_importance("split") > 0).sum())
    return {"model_id": model_id, "leads": len(found.table), "converted": found.table.positives,
            "rounds": model.rounds, "features": len(found.table.features), "features_used": used}


def predict(db: Path, threads: int) -> dict[str, Any]:
    """`predict_all` over every contact, committed."""
    from leadledger.services.predicting import predict_all
    from leadledger.store.policies import load_active_policy

    engine = _engine(db)
    with engine.begin() as conn:
        run = predict_all(conn, load_active_policy(conn), NOW, threads=threads)
    assert run is not None
    return run.to_dict()


def main() -> None:
    """Run the steps, each in a child process, and record the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=Path("/tmp/b1m/analytics.db"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/p1bench"))
    ap.add_argument("--sample", type=int, default=50, help="train on every Nth lead")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", default="prepare,train,predict")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    args = ap.parse_args()
    db = args.workdir / "predict.db"
    if args.step:
        started, cpu = time.perf_counter(), time.process_time()
        result = {"prepare": lambda: prepare(db, args.source), "train": lambda: train(db, args.sample),
                  "predict": lambda: predict(db, args.threads)}[args.step]()
        print(json.dumps({"step": args.step, "seconds": round(time.perf_counter() - started, 2),
                          "cpu_seconds": round(time.process_time() - cpu, 2), "peak_mib": round(peak_mib()),
                          **result}, default=str), flush=True)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.steps.split(","):
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--step", name], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        print(out, flush=True)
        results.append({**json.loads(out), "load_before": round(load, 2)})
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "predict-scoring-1000000.json"
    kept = json.loads(path.read_text())["steps"] if path.exists() else []
    ran = {r["step"] for r in results}  # a step run again replaces its earlier result
    path.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "steps": [r for r in kept if r["step"] not in ran] + results,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
