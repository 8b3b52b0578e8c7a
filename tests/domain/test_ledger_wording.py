"""Explanations of ledger-trained models read as words, not column names."""

from __future__ import annotations

import pytest

from leadledger.domain.predict.explain import Factor, describe_ledger_value
from leadledger.domain.predict.features import FeatureKind, FeatureSpec

NUM, CAT, FLAG = FeatureKind.numeric, FeatureKind.categorical, FeatureKind.boolean


@pytest.mark.parametrize(("name", "kind", "raw", "words"), [
    ("pricing_page_view count", NUM, "3", "3× pricing page view"),
    ("pricing_page_view count", NUM, "0", "no pricing page view yet"),
    ("demo_request days since last", NUM, "12.4", "last demo request 12 days ago"),
    ("demo_request days since last", NUM, "0.01", "last demo request today"),
    ("demo_request days since last", NUM, None, "no demo request yet"),
    ("webinar_attended decayed", NUM, "1.54",
     "webinar attended, weighted to recent ones: 1.5 (each counts half after 45 days)"),
    ("webinar_attended decayed", NUM, "0", "no webinar attended yet"),
    ("two-way conversations", NUM, "1", "1 two-way conversation"),
    ("two-way conversations", NUM, "2", "2 two-way conversations"),
    ("events in the last 14 days", NUM, "1", "1 activity in the last 14 days"),
    ("days since last event", NUM, "1", "last activity 1 day ago"),
    ("days since created", NUM, "40.2", "in the ledger for 40 days"),
    ("employees", NUM, "2480", "2,480 employees"),
    ("annual_revenue", NUM, "289953000", "annual revenue $290.0M"),
    ("country", CAT, "gb", "based in GB"),
    ("seniority", CAT, "c_level", "c level seniority"),
    ("source", CAT, "free_trial", "came in through free trial"),
    ("industry", CAT, None, "industry not given"),
    ("opted_out", FLAG, "yes", "opted out of email"),
])
def test_ledger_features_in_plain_words(name: str, kind: FeatureKind, raw: str | None, words: str) -> None:
    assert describe_ledger_value(FeatureSpec(name, kind), raw, half_life_days=45) == words


def test_a_factor_reads_as_words_and_points() -> None:
    value = describe_ledger_value(FeatureSpec("pricing_page_view count", NUM), "3", half_life_days=45)
    assert Factor("pricing_page_view count", value, 0.18).words() == "3× pricing page view: +18%"
