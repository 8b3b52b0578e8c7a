"""Per-prediction explanations in plain words: which values pushed a lead's probability up or down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadledger.domain.predict.features import FeatureKind, FeatureSpec, parse_boolean, parse_number

NEGLIGIBLE = 0.005  # effects under half a percentage point are not worth a line


@dataclass(frozen=True, slots=True)
class Factor:
    """One feature's push on one lead's probability, in probability points (−1 … 1)."""

    feature: str
    value: str  # the value as shown, e.g. "Lead Source = Reference"
    effect: float

    def words(self) -> str:
        """'Lead Source = Reference: +18%' (percentage points of conversion probability)."""
        return f"{self.value}: {self.effect * 100:+.0f}%"


def describe_value(spec: FeatureSpec, raw: str | None) -> str:
    """A feature's value as a reader would say it: 'Country = India', 'Country not given'."""
    if raw is None:
        return f"{spec.name} not given"
    if spec.kind is FeatureKind.numeric:
        number = parse_number(raw)
        shown = raw if number is None else f"{number:,.0f}" if number.is_integer() else f"{number:,.3g}"
        return f"{spec.name} = {shown}"
    if spec.kind is FeatureKind.boolean:
        flag = parse_boolean(raw)
        return f"{spec.name} = {raw if flag is None else 'yes' if flag else 'no'}"
    return f"{spec.name} = {raw}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """A lead's probability and the strongest factors each way, strongest first."""

    probability: float
    up: tuple[Factor, ...]
    down: tuple[Factor, ...]


def explain(probability: float, factors: Sequence[Factor], top: int = 3) -> Explanation:
    """Keep the `top` strongest non-negligible factors pushing up and pushing down."""
    ranked = sorted(factors, key=lambda f: -abs(f.effect))
    return Explanation(
        probability=probability,
        up=tuple(f for f in ranked if f.effect >= NEGLIGIBLE)[:top],
        down=tuple(f for f in ranked if f.effect <= -NEGLIGIBLE)[:top],
    )


# How the ledger's features read in an explanation ("3× demo request", "last pricing page view 12
# days ago"): the feature names of `lead_features` are column names, not words.
LEDGER_FIT_WORDS = {
    "industry": "{} industry", "country": "based in {}", "seniority": "{} seniority", "role": "{} role",
    "source": "came in through {}",
}
EVENT_WORDS = {
    "email_open": "email open", "email_click": "email click", "page_view": "page view",
    "pricing_page_view": "pricing page view", "content_download": "content download",
    "webinar_attended": "webinar attended", "form_fill": "form filled in", "demo_request": "demo request",
    "trial_usage": "trial usage", "teammate_invited": "teammate invited", "reply": "reply", "call": "call",
    "meeting_scheduled": "meeting scheduled", "meeting_held": "meeting held", "unsubscribe": "unsubscribe",
    "bounce": "bounced email",
}
_PER_TYPE = (" count", " decayed", " days since last")


def _ago(days: float) -> str:
    if days < 1:
        return "today" if days * 24 < 1 else f"{days * 24:.0f} hours ago"
    return "1 day ago" if round(days) == 1 else f"{days:,.0f} days ago"


def _plain(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def describe_ledger_value(spec: FeatureSpec, raw: str | None, *, half_life_days: float) -> str:
    """A ledger feature's value in plain words: '3× demo request', 'last pricing page view 12 days ago'."""
    name = spec.name
    number = None if raw is None else parse_number(raw)
    for suffix in _PER_TYPE:
        if name.endswith(suffix):
            event_type = name[: -len(suffix)]
            what = EVENT_WORDS.get(event_type, event_type.replace("_", " "))
            if suffix == " days since last":
                return f"no {what} yet" if number is None else f"last {what} {_ago(number)}"
            if not number:
                return f"no {what} yet"
            if suffix == " count":
                return f"{_plain(number)}× {what}"
            return (f"{what}, weighted to recent ones: {number:,.1f} "
                    f"(each counts half after {half_life_days:g} days)")
    if name == "two-way conversations":
        if not number:
            return "no two-way conversation yet"
        return f"{_plain(number)} two-way conversation" + ("" if number == 1 else "s")
    if name.startswith("events in the last "):
        span = name[len("events in the last "):]
        if not number:
            return f"no activity in the last {span}"
        return f"{_plain(number)} {'activity' if number == 1 else 'activities'} in the last {span}"
    if name == "days since last event":
        return "no activity yet" if number is None else f"last activity {_ago(number)}"
    if name == "days since created":
        return "created just now" if number is None else f"in the ledger for {number:,.0f} days"
    if name == "employees":
        return "company size not given" if number is None else f"{_plain(number)} employees"
    if name == "annual_revenue":
        return "revenue not given" if number is None else f"annual revenue {_money(number)}"
    if name == "opted_out":
        return "opted out of email" if raw is not None and parse_boolean(raw) else "not opted out of email"
    if raw is None:
        return f"{name.replace('_', ' ')} not given"
    value = raw.replace("_", " ")
    return LEDGER_FIT_WORDS.get(name, name.replace("_", " ") + " {}").format(
        value.upper() if name == "country" else value)


def _money(x: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"${x / size:,.1f}{unit}"
    return f"${x:,.0f}"
