"""A stored policy is re-read through a fast path (libyaml, no models): the same Policy as the parser's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from leadledger.errors import PolicyError
from leadledger.policyfile import BUILTIN, builtin_policy_text, parse_policy
from leadledger.services.setup import apply_policy
from leadledger.store import policies
from leadledger.store.policies import read_stored
from leadledger.yamlsource import NotPlain, plain_values
from tests.conftest import NOW

EXAMPLES = sorted((Path(__file__).parents[2] / "docs/examples/policies").glob("*.yaml"))

MINIMAL = """\
name: minimal
version: 3
stages:
  - {name: lead, owner: marketing}
  - {name: customer, owner: success, means: customer}
"""

# Every key of the policy file set; numbers written as ints where the model wants floats, labels
# empty or null where a default label is derived, lists of mixed text and numbers.
EVERY_KEY = """\
name: every-key
version: "2.1"
description: every key set
framework: MEDDIC
enterprise: {min_employees: 500}
buying_signals: [reply, meeting_held]
stages:
  - name: lead
    owner: marketing
    gate: {fields: [email], icp_fit: false}
  - name: mql
    label: ""
    owner: marketing
    means: lead
    gate: {icp_fit: true, score_threshold: true}
    sla: {first_touch_hours: 24}
  - name: sal
    label: null
    owner: sales
    means: lead
    gate: {owner: true, two_way_interaction: true, buying_signal: true}
    sla:
      first_touch_hours: 12.5
  - name: sql
    owner: sales
    means: prospect
    gate:
      evidence: [metrics, champion]
      enterprise_evidence: [initiative]
  - name: opportunity
    owner: sales
    means: prospect
    gate: {open_opportunity: true, enter_from: [sql, sal]}
  - name: customer
    label: Client
    owner: success
    means: customer
    gate: {signed_and_booked: true}
side_stages:
  - name: nurture
    owner: marketing
    gate: {reason: true}
    sla: null
backward:
  - {from: "*", to: nurture}
  - {from: sal, to: mql, reason_required: false}
automation:
  promote: {to: mql, from: [lead]}
dormancy: {after_days: 90, move_to: nurture, applies_to: [lead, mql]}
scoring:
  mql_threshold: 80
  fit_minimum: 25.5
  decay_half_life_days: 14
  fit:
    - {field: employees, op: gte, value: 50, points: 15}
    - {field: employees, op: between, value: [10, 200.5], points: 3}
    - {label: "", field: industry, op: in, value: [software, 42], points: 2.5}
    - {label: null, field: country, op: eq, value: "US", points: -1}
    - {label: served, field: tech_stack, op: contains, value: yes, points: 0}
  behavior:
    reply: {points: 10}
    demo_request: {points: 45, cap: 90}
    email_open: {points: 0.5, cap: 5.5}
  negative:
    unsubscribe: {points: -40, cap: 40}
edge_cases:
  product_led_trial: {enabled: true, to: sql, min_usage_events: 3, source: trial}
  direct_purchase: {enabled: true, max_amount: 500}
  partner_sourced_needs_fit_and_signal: false
  partner_source: partners
  customer_contacts_route_to_owner: false
forecast:
  stages:
    discovery: {probability: 0, category: omitted}
    closing: {probability: 1, category: commit}
  signed_not_booked: {probability: 0.95, category: commit}
  other_stages: {probability: 0.05, category: best_case}
buying_committee:
  required_roles: [champion]
  enterprise_roles: []
economics:
  gross_margin: 1
  annual_churn: 0.2
"""

# The optional sections null or off, the other defaults (max_amount, version as an int).
NULLS = (
    EVERY_KEY.replace('version: "2.1"', "version: 7")
    .replace("enterprise: {min_employees: 500}", "enterprise: null")
    .replace("      enterprise_evidence: [initiative]\n", "")
    .replace("  promote: {to: mql, from: [lead]}", "  promote: null")
    .replace("dormancy: {after_days: 90, move_to: nurture, applies_to: [lead, mql]}", "dormancy:")
    .replace("{enabled: true, to: sql,", "{enabled: false, to: sql,")
    .replace("direct_purchase: {enabled: true, max_amount: 500}", "direct_purchase: {enabled: true}")
    .replace("annual_churn: 0.2", "annual_churn: ~")
)

TEXTS = {
    **{name: builtin_policy_text(name) for name in sorted(BUILTIN)},
    **{path.name: path.read_text(encoding="utf-8") for path in EXAMPLES},
    "minimal": MINIMAL,
    "every key": EVERY_KEY,
    "nulls": NULLS,
}


@pytest.mark.parametrize("name", list(TEXTS))
def test_fast_path_builds_the_parsers_policy(name: str) -> None:
    text = TEXTS[name]
    parsed = parse_policy(text, name)
    fast = read_stored(text)  # raises if it had to leave the text to the parser
    assert fast == parsed
    assert repr(fast) == repr(parsed)  # types too: a float 100.0 where the parser has an int 100 differs


def test_the_examples_and_every_key_are_covered() -> None:
    assert EXAMPLES, "docs/examples/policies/ has no policy to compare"
    every, nulls = parse_policy(EVERY_KEY, "every key"), parse_policy(NULLS, "nulls")
    assert every.edge_cases.trial is not None and every.edge_cases.direct_purchase is not None
    assert every.scoring.fit_rules[2].label == "industry in ['software', 42.0]"  # the label of a list
    assert nulls.edge_cases.trial is None and nulls.dormancy is None and nulls.auto_promotion is None
    assert repr(parse_policy(MINIMAL, "minimal").scoring.mql_threshold) == "100"  # the model's int default


def test_a_stored_custom_policy_loads_through_the_fast_path(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "every-key.yaml"
    path.write_text(EVERY_KEY, encoding="utf-8")
    apply_policy(engine, path, NOW)
    policies._parsed.cache_clear()
    with engine.connect() as conn:
        text = policies.active_policy_text(conn)
        loaded = policies.load_active_policy(conn)
        assert policies.stored_policy(conn, loaded.version) == loaded
    assert text == EVERY_KEY
    assert repr(loaded) == repr(read_stored(text)) == repr(parse_policy(EVERY_KEY, "every key"))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("mql_threshold: 80", "mql_threshold: 0x50"),  # hex: an int to ruamel
        ("mql_threshold: 80", "mql_threshold: 8e1"),  # exponent: a float to ruamel
        ("fit_minimum: 25.5", "fit_minimum: 2_5.5"),
        ("value: 50,", "value: 050,"),
        ("value: 50,", "value: !!float 50,"),
        ('version: "2.1"', "version: 2026-01-01"),
        ("name: every-key", "%YAML 1.2\n---\nname: every-key"),
    ],
)
def test_what_the_fast_path_does_not_read_goes_to_the_parser(old: str, new: str) -> None:
    text = EVERY_KEY.replace(old, new, 1)
    assert text != EVERY_KEY
    with pytest.raises((NotPlain, ValueError)):
        read_stored(text)
    policies._parsed.cache_clear()
    try:
        loaded = policies._parsed(text)
    except PolicyError:  # the parser refuses it: so it did before
        with pytest.raises(PolicyError):
            parse_policy(text, "stored policy")
    else:
        assert repr(loaded) == repr(parse_policy(text, "stored policy"))


def test_yaml_1_2_words_stay_text() -> None:
    values = plain_values("a: yes\nb: no\nc: on\nd: '1'\ne: 1.50\nf: -3\ng: 50+ employees\nh: ~\ni: True\n")
    assert values == {"a": "yes", "b": "no", "c": "on", "d": "1", "e": 1.5, "f": -3,
                      "g": "50+ employees", "h": None, "i": True}
    assert [type(v) for v in values.values()][4:6] == [float, int]


def test_a_bad_stored_text_fails_as_the_parser_says() -> None:
    policies._parsed.cache_clear()
    bad_yaml = "name: x\nstages: [\n"
    with pytest.raises(PolicyError, match="not valid YAML"):
        policies._parsed(bad_yaml)
    typo = builtin_policy_text("lead-first").replace("score_threshold: true", "score_treshold: true")
    with pytest.raises(PolicyError, match="did you mean 'score_threshold'"):
        policies._parsed(typo)


def test_reading_a_stored_policy_imports_no_parser() -> None:
    """The point of the fast path: neither pydantic nor ruamel is loaded in a fresh process."""
    code = (
        "import sys\n"
        "from leadledger.store.policies import _parsed\n"
        "from importlib import resources\n"
        "text = resources.files('leadledger.policies').joinpath('lead-first.yaml').read_text()\n"
        "p = _parsed(text)\n"
        "assert p.name == 'lead-first', p.name\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'ruamel', 'alembic')"
        " or m == 'leadledger.policyfile'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
