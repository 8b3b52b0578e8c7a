"""On the demo data, training on snapshot rows recovers the planted drivers; suggested weights beat the rules.

The demo plants its drivers of qualification (services/demo: funnel.QUALIFY_LOG_ODDS, the trial rule,
`TRUE_DRIVERS`). Training reads the ledger as snapshot rows: each open lead once a week before sales
contact, up to day 84, labelled by whether it reaches SQL within 30 days; the ≈ 40,000 rows of the
scale-0.5 demo are sampled down to 20,000 rows of whole leads (`max_rows`, as `leadledger train`
bounds its rows) and the importance comes from a 10,000-row sample, which keeps this test near 30 s.

Top factors are ranked by mean |effect| on the rows where the signal occurred (`where_seen`): the
mean over every row weighs a signal by how common it is, and a demo request is on 3% of the rows.
Ranks measured on demo seeds 7, 11 and 23 (of 22–23 signals seen): trial_usage 2, 2, 2;
pricing_page_view 3, 1, 1; demo_request 5, 3, 7; industry 4, 5, 6; employees 7, 4, 5; seniority
6, 8, 8; webinar_attended 12, 11, 17. The bounds below leave room above the worst of those.
webinar_attended is inherently weak (+0.6 log-odds against +1.6 for a demo request, and most webinar
events mark leads created from a webinar, converted or not), so its rank swings with the sample; it
is asserted only to be seen and to earn points in the suggested weights (it did on every seed).

Suggested weights against the current rules, cross-validated ROC AUC on 3 grouped folds, means:
0.758 vs 0.746, 0.726 vs 0.711, 0.743 vs 0.718; single folds went either way (0.758 vs 0.778 on seed
7), so only the mean is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from leadledger.services.demo.load import TRUE_DRIVERS
from leadledger.services.setup import init_database
from leadledger.services.training.evaluation import stratified_folds, time_folds
from leadledger.services.training.ledger import LedgerOutcome, Snapshots, ledger_table
from leadledger.services.training.models import fit_product
from leadledger.services.training.rules import compare_rules
from leadledger.services.training.run import _examples, outcome_counts
from leadledger.store.db import make_engine
from tests.conftest import NOW

OBSERVABLE = {"seniority", "employees", "industry", "trial_usage", "pricing_page_view", "demo_request",
              "webinar_attended"}  # every planted driver happens before the move to SQL
STRONG, STRONG_TOP = {"trial_usage", "pricing_page_view"}, 4
PLANTED_TOP = 12  # every planted driver but webinar_attended
OUTCOME = LedgerOutcome(stage="sql", horizon_days=84, snapshots=Snapshots(every_days=7, within_days=30),
                        max_rows=20_000)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from leadledger.services.demo import load_demo

    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('signal')}/demo.db")
    init_database(eng, model="lead-first", now=NOW)
    load_demo(eng, now=NOW, seed=7, scale=0.5)
    yield eng
    eng.dispose()


def test_planted_drivers_are_top_factors_and_suggested_weights_beat_the_policy(demo: Engine) -> None:
    found = ledger_table(demo, OUTCOME, NOW)
    table = found.table
    assert table.groups is not None and found.leads < len(table) <= 20_000
    assert found.sampled_from is not None and found.sampled_from[0] > len(table)
    converted, not_converted = outcome_counts(table)
    assert converted >= 200 and not_converted >= 200
    assert set(TRUE_DRIVERS) == OBSERVABLE

    model = fit_product(table)
    _, _, seen = _examples(model, table)
    rank = {name: i + 1 for i, (name, _, _) in enumerate(seen)}
    assert all(rank.get(d, 99) <= STRONG_TOP for d in STRONG), seen
    assert all(rank.get(d, 99) <= PLANTED_TOP for d in OBSERVABLE - {"webinar_attended"}), seen
    assert "webinar_attended" in rank, seen

    assert found.scoring is not None
    folds = stratified_folds(table.outcomes, 3, 1, 0, table.groups)
    for fold in folds:  # a lead's snapshots never on both sides
        assert not {table.groups[i] for i in fold.train} & {table.groups[i] for i in fold.test}
    oof = dict.fromkeys(range(len(table)), 0.5)  # the model's ranking is not under test here
    rules = compare_rules(found.rule_rows, table.outcomes, found.scoring, folds, oof)
    current, suggested = rules.current.summary()["roc_auc"], rules.suggested.summary()["roc_auc"]
    assert suggested.mean > current.mean, (suggested, current)
    # The suggestion speaks the policy's language about the planted drivers.
    signals = {s.event_type for s in rules.suggestion.signals}
    assert {"trial_usage", "pricing_page_view", "webinar_attended"} <= signals
    assert {"industry", "seniority", "employees"} <= {r.field for r in rules.suggestion.fit_rules}


def test_time_folds_keep_a_leads_snapshots_out_of_training_when_it_is_tested() -> None:
    order = list(range(8))
    groups = [1, 2, 1, 3, 2, 4, 3, 4]  # lead 1 at times 0 and 2, lead 2 at 1 and 4, …
    folds = time_folds(order, 3, groups)
    assert [f.test for f in folds] == [(2, 3), (4, 5), (6, 7)]
    assert [f.train for f in folds] == [(1,), (0, 2, 3), (0, 1, 2, 4)]
    assert time_folds(order, 3)[0].train == (0, 1)


def test_stratified_folds_with_groups_keep_each_lead_in_one_test_fold() -> None:
    groups = [i // 3 for i in range(120)]  # 40 leads, 3 rows each
    outcomes = [g % 4 == 0 and i % 3 == 2 for i, g in enumerate(groups)]
    folds = stratified_folds(outcomes, 4, 2, 0, groups)
    assert len(folds) == 8
    for repeat in (0, 1):
        tested = [groups[i] for f in folds if f.repeat == repeat for i in f.test]
        assert sorted(tested) == sorted(groups)  # every row tested once per repeat
        for f in (f for f in folds if f.repeat == repeat):
            assert not {groups[i] for i in f.train} & {groups[i] for i in f.test}
    assert folds[0].test != folds[4].test  # a new shuffle per repeat
