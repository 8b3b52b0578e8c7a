"""`leadledger train --html`: the training report as one self-contained page with its charts."""

from __future__ import annotations

from leadledger.domain.predict.metrics import Lift
from leadledger.services.training.evaluation import METRICS, ModelResult
from leadledger.services.training.run import TrainingReport
from leadledger.web import format as fmt
from leadledger.web.charts import Reference, Series, line_chart
from leadledger.web.templating import render, trusted

METRIC_NAMES = {
    "roc_auc": "ROC AUC", "pr_auc": "PR AUC", "brier": "Brier", "ece": "calibration error (ECE)",
    "lift_10": "lift, top 10%", "capture_10": "capture, top 10%", "lift_20": "lift, top 20%",
    "capture_20": "capture, top 20%",
}


def _rows(report: TrainingReport) -> list[ModelResult]:
    """The models, then (from the ledger) the current rule score and the suggested weights."""
    extra = [report.rules.current, report.rules.suggested] if report.rules else []
    return [*report.results, *extra]


def _gains(report: TrainingReport, key: str) -> list[Lift]:
    """Lift and capture by tenth for a model or (from the ledger) a rule score."""
    if key in report.gains:
        return report.gains[key]
    return report.rules.gains[key] if report.rules else []


def render_training_report(report: TrainingReport) -> str:
    """The report as HTML: inline stylesheet and SVG, no script, no external URL."""
    return render(
        "training.html.j2",
        r=report,
        title=f"Predictive scoring — {report.source}",
        metric_groups=[[(m, METRIC_NAMES[m]) for m in part] for part in (METRICS[:4], METRICS[4:])],
        rows=_rows(report),
        summaries={r.key: r.summary() for r in _rows(report)},
        charts={k: trusted(v) for k, v in charts(report).items()},
    )


def charts(report: TrainingReport) -> dict[str, str]:
    """The calibration plot, the lift chart and the capture chart."""
    return {"calibration": _calibration(report), "lift": _lift(report), "capture": _capture(report)}


def _calibration(report: TrainingReport) -> str:
    bins = report.calibration["product"]
    return line_chart(
        "Calibration: predicted vs observed conversion (product model, out-of-fold)",
        [f"{b.lower:.0%}–{b.upper:.0%}" for b in bins],
        [Series("predicted (mean of the bin)", [b.predicted for b in bins]),
         Series("observed conversion", [b.observed for b in bins])]
        + [Series(f"observed, {r.label}", [b.observed for b in report.calibration[r.key]])
           for r in report.results if r.key != "product"],
        y_label="Conversion (%)", x_label="Predicted probability bin", fmt=fmt.percent_tick, width=900,
    )


def _tenths(report: TrainingReport) -> list[str]:
    return [f"top {g.fraction:.0%}" for g in report.gains["product"]]


def _lift(report: TrainingReport) -> str:
    return line_chart(
        "Lift: conversion rate of the top-scored leads over the average",
        _tenths(report),
        [Series(r.label, [g.lift for g in _gains(report, r.key)]) for r in _rows(report)],
        y_label="Lift (× the average rate)", x_label="Leads taken, best scored first",
        refs=[Reference(1.0, "no model (1×)")], width=900,
    )


def _capture(report: TrainingReport) -> str:
    return line_chart(
        "Capture: share of all conversions among the top-scored leads",
        _tenths(report),
        [Series(r.label, [g.capture for g in _gains(report, r.key)]) for r in _rows(report)],
        y_label="Conversions captured (%)", x_label="Leads taken, best scored first",
        fmt=fmt.percent_tick, width=900,
    )
