"""Scoring with the active model: set-based features equal to the training reference on both databases,
predictions that name their model, rescoring after activate/rollback, and identical scores after moving
the records and the model from SQLite to PostgreSQL."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, insert, select

from leadledger.domain.predict.lead_features import lead_features, lead_row
from leadledger.services.contacts import list_contacts
from leadledger.services.predicting import explain_prediction, reached_stages
from leadledger.services.scoring import rescore
from leadledger.services.setup import init_database
from leadledger.services.training.ledger import LedgerOutcome, ledger_table
from leadledger.services.training.models import ProductModel, fit_product
from leadledger.services.training.registry import (
    KIND,
    activate,
    export_model,
    import_model,
    model_to_json,
    rollback,
)
from leadledger.services.training.table import LeadTable
from leadledger.store.db import make_engine
from leadledger.store.policies import load_active_policy
from leadledger.store.prediction_features import (
    EVENT_TYPES,
    FeatureBlock,
    applicable_ids,
    builds,
    feature_blocks,
)
from leadledger.store.predictive_models import save_model
from leadledger.store.records import account_by_id, contact_by_email, events_for
from leadledger.store.schema import contacts, metadata, predictions
from tests.conftest import NOW, fresh_pg_database

HALF_LIFE = 45.0  # Lead-First's
NOT_COPIED = {"alembic_version", "predictive_models", "predictions", "scores"}


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A small demo (500 contacts, ~10k events) on SQLite."""
    from leadledger.services.demo import load_demo

    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('predict')}/demo.db")
    init_database(eng, model="lead-first", now=NOW)
    load_demo(eng, now=NOW, seed=7, scale=0.05)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def pg_demo(sqlite_demo: Engine) -> Iterator[Engine]:
    """The same records copied row for row into a fresh PostgreSQL database."""
    import os

    from leadledger.store.db import normalize_url

    url = os.environ.get("LEADLEDGER_TEST_PG_URL")
    if not url:
        pytest.skip("LEADLEDGER_TEST_PG_URL not set")
    databases = fresh_pg_database(normalize_url(url))
    eng = make_engine(next(databases))
    init_database(eng, model="lead-first", now=NOW)
    tables = [t for t in metadata.sorted_tables if t.name not in NOT_COPIED]
    with eng.begin() as target, sqlite_demo.connect() as source:
        for t in reversed(tables):
            target.execute(delete(t))  # what init seeded (policy, meta) comes from the copy instead
        for t in tables:
            rows = [dict(r._mapping) for r in source.execute(select(t))]
            if rows:
                target.execute(insert(t), rows)
    yield eng
    eng.dispose()
    for _ in databases:
        pass


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest) -> Engine:
    """The demo on each backend."""
    name = "sqlite_demo" if request.param == "sqlite" else "pg_demo"
    engine: Engine = request.getfixturevalue(name)
    return engine


@pytest.fixture(scope="module")
def trained(sqlite_demo: Engine) -> ProductModel:
    """The product model trained on the SQLite demo's ledger, as `leadledger train` builds the rows."""
    found = ledger_table(sqlite_demo, LedgerOutcome(horizon_days=120), NOW)
    assert 0 < found.table.positives < len(found.table)
    return fit_product(found.table)


def _reference(engine: Engine, ids: list[int], at: datetime) -> dict[int, dict[str, str | None]]:
    """`lead_row` (training's reference) for each contact as of `at`."""
    with engine.connect() as conn:
        emails = dict(conn.execute(select(contacts.c.id, contacts.c.email)).all())
        out = {}
        for cid in ids:
            c = contact_by_email(conn, emails[cid])
            out[cid] = lead_row(c, account_by_id(conn, c.account_id), events_for(conn, cid), at,
                                event_types=EVENT_TYPES, half_life_days=HALF_LIFE)
    return out


def _mismatches(block: FeatureBlock, i: int, ref: dict[str, str | None]) -> list[str]:
    bad = []
    for spec in lead_features(EVENT_TYPES):
        want = ref[spec.name]
        if spec.name in block.categories:
            got: object = block.categories[spec.name][i]
            same = got == want
        else:
            got = float(block.numbers[spec.name][i])
            if want is None:
                same = math.isnan(got)
            elif spec.kind.value == "boolean":
                same = got == (1.0 if want == "yes" else 0.0)
            elif spec.name.endswith(" decayed"):
                # Σ stored exp(λ(t − anchor)) × exp(−λ(now − anchor)) against Σ 0.5^(age / half-life):
                # equal up to the last bits; the reference keeps 10 significant digits.
                same = math.isclose(got, float(want), rel_tol=1e-9, abs_tol=1e-12)
            else:  # counts and "days since": the same float, so the same 10-digit text
                same = f"{got:.10g}" == want
        if not same:
            bad.append(f"{spec.name}: set-based {got!r}, reference {want!r}")
    return bad




@pytest.mark.parametrize("days", [-90, 1])  # -90: events and ledger entries after `now` must be left out
def test_set_based_features_equal_the_training_reference_for_every_contact(demo: Engine, days: int) -> None:
    at = NOW + timedelta(days=days)
    with demo.connect() as conn:
        every = applicable_ids(conn, at, [])
    assert len(every) == 500
    reference = _reference(demo, every.tolist(), at)
    assert set(builds()) == set(reference[int(every[0])])  # in step with lead_features
    for mode in ("inline", "readers"):
        with demo.connect() as conn, demo.connect() as one, demo.connect() as two:
            blocks = list(feature_blocks(conn, every, at, half_life_days=HALF_LIFE, chunk=97,
                                         readers=(one, two) if mode == "readers" else ()))
        assert [int(c) for b in blocks for c in b.contact_ids] == every.tolist()
        bad = [f"contact {cid}: {m}" for b in blocks for i, cid in enumerate(b.contact_ids.tolist())
               for m in _mismatches(b, i, reference[cid])]
        assert bad == [], f"{mode}: {len(bad)} mismatches, e.g. {bad[:5]}"


def _save(engine: Engine, model: ProductModel, minute: int) -> int:
    with engine.begin() as conn:
        return save_model(conn, {
            "kind": KIND, "outcome": "reached customer within 120 days of day 30", "window_start": NOW,
            "window_end": NOW, "leads": 400, "converted": 40, "features": "[]",
            "metrics": json.dumps({"models": []}), "policy_version": "lead-first@1",
            "model": model_to_json(model, outcome_stage="customer"),
        }, activate=True, now=NOW + timedelta(minutes=minute))


def _stored(engine: Engine) -> dict[int, tuple[int, float]]:
    with engine.connect() as conn:
        p = predictions.c
        rows = conn.execute(select(p.contact_id, p.model_id, p.probability))
        return {r.contact_id: (r.model_id, r.probability) for r in rows}


def test_score_writes_every_applicable_contact_with_the_model_that_made_it(
    demo: Engine, trained: ProductModel
) -> None:
    first = _save(demo, trained, 1)
    report = rescore(demo, NOW)
    assert report.prediction is not None and report.prediction.model_id == first
    with demo.connect() as conn:
        reached = reached_stages(load_active_policy(conn), "customer")
        ids = applicable_ids(conn, NOW, reached).tolist()
        everyone = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
    stored = _stored(demo)
    assert sorted(stored) == ids and report.prediction.predicted == len(ids)
    assert report.prediction.not_applicable == everyone - len(ids) > 0  # customers are not scored
    assert {m for m, _ in stored.values()} == {first}
    # The probabilities are the model's on training's own rows (lead_row) for the same contacts.
    reference = _reference(demo, ids, NOW)
    features = trained.encoder.features
    table = LeadTable(source="reference", features=features,
                      columns={s.name: [reference[c][s.name] for c in ids] for s in features},
                      outcomes=[False] * len(ids), lines=ids, order=None)
    expected = dict(zip(ids, trained.predict(table).tolist(), strict=True))
    assert max(abs(stored[c][1] - expected[c]) for c in ids) <= 1e-12
    assert report.to_dict()["prediction"]["model_id"] == first

    # A newly activated model: the stored rows are an older model's until the next score.
    second = _save(demo, trained, 2)
    listed = list_contacts(demo, limit=5)
    assert all(r["probability"] is None and not r["prediction_current"] for r in listed if r["model_id"])
    someone = ids[0]
    stale = explain_prediction(demo, someone, NOW)
    assert stale is not None and stale.model_id == second and stale.stored_model_id == first
    assert stale.note == f"scored by model {first}; active is {second} — run `leadledger score`"
    rescore(demo, NOW)
    assert {m for m, _ in _stored(demo).values()} == {second}
    assert all(r["prediction_current"] for r in list_contacts(demo, limit=5) if r["model_id"])

    assert rollback(demo, NOW + timedelta(minutes=3)).id == first
    assert rescore(demo, NOW).prediction.model_id == first  # type: ignore[union-attr]
    assert {m for m, _ in _stored(demo).values()} == {first}
    activate(demo, second, NOW + timedelta(minutes=4))
    fresh = explain_prediction(demo, someone, NOW)
    assert fresh is not None and fresh.note is not None and f"active is {second}" in fresh.note


def test_explanation_is_the_model_own_contributions_in_plain_words(
    sqlite_demo: Engine, trained: ProductModel
) -> None:
    model_id = _save(sqlite_demo, trained, 5)
    rescore(sqlite_demo, NOW)
    with sqlite_demo.connect() as conn:
        cid, p = conn.execute(select(predictions.c.contact_id, predictions.c.probability)
                              .order_by(predictions.c.probability.desc())).first()  # type: ignore[misc]
    x = explain_prediction(sqlite_demo, cid, NOW)
    assert x is not None and x.current and x.note is None and x.model_id == model_id
    assert x.probability == pytest.approx(p, abs=1e-12)  # nothing happened since `score`
    assert x.explanation is not None and (x.explanation.up or x.explanation.down)
    words = [f["words"] for f in x.factors]
    assert all(w.endswith("%") for w in words)
    column_names = [f"{t} {what}" for t in EVENT_TYPES for what in ("count", "decayed", "days since last")]
    assert not any(name in w or "_" in w for w in words for name in column_names)  # words, not column names
    with sqlite_demo.connect() as conn:
        customer = conn.execute(select(contacts.c.id).where(contacts.c.stage == "customer")).scalar()
    done = explain_prediction(sqlite_demo, customer, NOW)
    assert done is not None and not done.applies and done.probability is None
    assert done.note is not None and done.note.startswith("already reached customer")


def test_a_model_moved_from_sqlite_to_postgresql_scores_identically(
    sqlite_demo: Engine, pg_demo: Engine, trained: ProductModel, tmp_path: Path
) -> None:
    model_id = _save(sqlite_demo, trained, 6)
    exported = export_model(sqlite_demo, model_id)
    (tmp_path / "model.json").write_text(exported)
    pg_id = import_model(pg_demo, exported, str(tmp_path / "model.json"), now=NOW, activate=True)
    assert rescore(sqlite_demo, NOW).prediction.model_id == model_id  # type: ignore[union-attr]
    assert rescore(pg_demo, NOW).prediction.model_id == pg_id  # type: ignore[union-attr]
    lite = {c: p for c, (_, p) in _stored(sqlite_demo).items()}
    pg = {c: p for c, (_, p) in _stored(pg_demo).items()}
    assert len(lite) > 300
    # Exactly equal, not merely close: the same stored values become the same float features
    # (times as integer microseconds on both), and the same trees sum them in the same order.
    assert pg == lite


def test_a_model_trained_under_another_half_life_is_refused(trained: ProductModel, tmp_path: Path) -> None:
    """Decayed sums on a new half-life would feed the model numbers that mean something else."""
    from leadledger.errors import LeadledgerError
    from leadledger.policyfile import builtin_policy_text
    from leadledger.services.setup import apply_policy

    engine = make_engine(f"sqlite:///{tmp_path}/halflife.db")
    init_database(engine, model="lead-first", now=NOW)
    with engine.begin() as conn:
        version = load_active_policy(conn).version
        save_model(conn, {
            "kind": KIND, "outcome": "reached customer", "window_start": NOW, "window_end": NOW,
            "leads": 400, "converted": 40, "features": "[]", "metrics": json.dumps({"models": []}),
            "policy_version": version, "model": model_to_json(trained, outcome_stage="customer"),
        }, activate=True, now=NOW)
    assert rescore(engine, NOW).prediction is not None  # same half-life: scores
    faster = tmp_path / "faster-decay.yaml"
    text = builtin_policy_text("lead-first")
    assert "decay_half_life_days: 45" in text
    faster.write_text(text.replace("decay_half_life_days: 45", "decay_half_life_days: 14"), encoding="utf-8")
    apply_policy(engine, faster, NOW + timedelta(minutes=1))
    report = rescore(engine, NOW + timedelta(minutes=2))  # the rule scores still run
    assert report.prediction is None and report.prediction_refused is not None
    assert "trained with a 45-day score half-life" in report.prediction_refused
    assert "uses 14 days" in report.prediction_refused
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(predictions)).scalar_one() == 0
    with pytest.raises(LeadledgerError, match=r"trained with a 45-day score half-life"):
        explain_prediction(engine, 1, NOW)
    engine.dispose()
