"""Policy YAML: the built-ins validate; problems are reported with line numbers and hints."""

from __future__ import annotations

import pytest

from leadledger.errors import PolicyError
from leadledger.policyfile import BUILTIN, builtin_policy_text, parse_policy


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_policies_are_valid(name: str) -> None:
    p = parse_policy(builtin_policy_text(name), name)
    assert p.customer_stage is not None
    assert p.version.startswith(f"{name}@1#")


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "mine.yaml")
    assert "mine.yaml" in str(info.value)
    return [str(p) for p in info.value.problems]


def test_typo_in_key_gets_line_and_suggestion() -> None:
    text = builtin_policy_text("lead-first").replace("score_threshold: true", "score_treshold: true")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "score_treshold" in row)
    [p] = problems(text)
    assert p.startswith(f"line {line}:") and "did you mean 'score_threshold'" in p


def test_unknown_stage_reference_is_reported() -> None:
    text = builtin_policy_text("lead-first").replace("move_to: nurture", "move_to: nurtur")
    [p] = problems(text)
    assert "unknown stage 'nurtur'" in p and "did you mean 'nurture'" in p


def test_evidence_outside_the_framework_is_reported() -> None:
    text = builtin_policy_text("lead-first").replace("framework: BANT", "framework: MEDDIC")
    found = problems(text)
    assert any("'need' is not a MEDDIC" in p for p in found)


def test_several_problems_are_all_reported_in_line_order() -> None:
    text = (
        builtin_policy_text("lead-first")
        .replace("demo_request:      {points: 45", "demo_requets:      {points: 45")
        .replace("field: employees, op: gte, value: 50,", "field: employes, op: gte, value: 50,")
    )
    found = problems(text)
    assert len(found) == 2
    lines = [int(p.split(":")[0].removeprefix("line ")) for p in found]
    assert lines == sorted(lines)


def test_broken_yaml_names_the_line() -> None:
    [p] = problems("name: x\nstages: [a, b\nversion: 1\n")
    assert p.startswith("line ") and "not valid YAML" in p


def test_numeric_rule_with_text_value_is_refused() -> None:
    text = builtin_policy_text("lead-first").replace("op: gte, value: 50,", "op: gte, value: fifty,")
    assert any("must be a number" in p for p in problems(text))


def test_short_half_life_is_refused() -> None:
    text = builtin_policy_text("lead-first").replace("decay_half_life_days: 45", "decay_half_life_days: 1")
    assert any("decay_half_life_days" in p for p in problems(text))
