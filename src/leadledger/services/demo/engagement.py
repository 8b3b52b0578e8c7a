"""Marketing engagement: newsletters, web sessions, content, trials, and planted buying intent."""

from __future__ import annotations

import json
import math
import random
from functools import cache

from leadledger.services.demo import vocab as V
from leadledger.services.demo.world import (
    DAY,
    HOUR,
    MINUTE,
    ContactSim,
    EventRow,
    office_hours,
    sigmoid,
    to_text,
    uniform_time,
)

COMPETITOR_DOMAINS = tuple(V.COMPETITOR_DOMAINS)
BAD_LIST_SOURCES = ("list_import", "event_badge_scan", "outbound")

# Planted intent model (log-odds); the ground truth repeats it.
INTENT_LOG_ODDS = {
    "base": -1.5, "decision_maker": 1.0, "icp_account": 0.9, "account_in_market": 0.6,
    "free_email": -0.5, "student": -1.0, "competitor": 1.5,
}


@cache
def props(*pairs: tuple[str, str]) -> str:
    """Event properties as canonical JSON (cached: the same few strings recur)."""
    return json.dumps(dict(pairs), sort_keys=True)


PAGES = tuple(props(("path", p)) for p in V.WEB_PATHS)
PRICING = props(("path", "/pricing"))
BOUNCE = props(("reason", "hard bounce"))
OPEN_DELAY_MU = math.log(3 * HOUR)  # opens come a few hours after the send (log-normal)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation for large means)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def campaign_sends(now: int) -> list[tuple[int, str]]:
    """Weekly newsletter sends (15:00 UTC) over the 13 months before `now`, with their properties."""
    first = now - 400 * DAY
    first = first - first % DAY + 15 * HOUR
    times = range(first, now, 7 * DAY)
    return [(t, props(("campaign", f"newsletter-{(to_text(t) or '')[:10]}"))) for t in times]


def _intent(rng: random.Random, c: ContactSim) -> bool:
    w = INTENT_LOG_ODDS
    z = w["base"] + rng.gauss(0, 0.5)
    domain = c.email.rsplit("@", 1)[1]
    if c.account is not None:
        z += w["icp_account"] * c.account.icp + w["account_in_market"] * c.account.in_market
    elif domain in COMPETITOR_DOMAINS:
        z += w["competitor"]
    elif domain.endswith(".edu"):
        z += w["student"]
    else:
        z += w["free_email"]
    z += w["decision_maker"] * c.decision_maker + V.SOURCE_INTENT[c.source]
    return rng.random() < sigmoid(z)


def _emails(rng: random.Random, c: ContactSim, sends: list[tuple[int, str]], level: float) -> list[EventRow]:
    """Newsletter opens and clicks; a bounce ends them, an unsubscribe opts the contact out."""
    received = [s for s in sends if s[0] >= c.created_at]
    if not received:
        return []
    bounce_p = 0.06 if c.source in BAD_LIST_SOURCES else 0.01
    if rng.random() < bounce_p:
        return [(received[0][0] + 2 * MINUTE, "bounce", False, BOUNCE)]
    stop = len(received)
    out: list[EventRow] = []
    if rng.random() < 0.05:
        stop = rng.randrange(len(received))
        c.opted_out = True
        at, campaign = received[stop]
        out.append((at + int(rng.expovariate(1 / (6 * HOUR))), "unsubscribe", False, campaign))
    p_open = min(0.7, 0.2 * level)
    random_, lognormal = rng.random, rng.lognormvariate
    for at, campaign in received[:stop]:
        if random_() >= p_open:
            continue
        opened = at + int(lognormal(OPEN_DELAY_MU, 1.2))
        out.append((opened, "email_open", False, campaign))
        if random_() < 0.18:
            out.append((opened + int(random_() * 5 * MINUTE), "email_click", False, campaign))
    return out


def _session(rng: random.Random, start: int, views: int, pricing: int) -> list[EventRow]:
    """A web visit: a few page views minutes apart, pricing views among them."""
    out: list[EventRow] = []
    t = start
    for i in range(views + pricing):
        if i < pricing:
            out.append((t, "pricing_page_view", False, PRICING))
        else:
            out.append((t, "page_view", False, rng.choice(PAGES)))
        t += MINUTE + int(rng.random() * 4 * MINUTE)
    return out


def _browsing(rng: random.Random, c: ContactSim, now: int, level: float) -> list[EventRow]:
    life_days = (now - c.created_at) / DAY
    out: list[EventRow] = []
    for _ in range(poisson(rng, level * life_days / 30 * 0.5)):
        start = office_hours(rng, uniform_time(rng, c.created_at, now))
        views = 1 + min(8, int(rng.expovariate(0.8)))
        out += _session(rng, start, views, 1 if rng.random() < 0.03 else 0)
    for _ in range(poisson(rng, level * life_days / 200)):
        out.append((office_hours(rng, uniform_time(rng, c.created_at, now)), "content_download",
                    False, props(("asset", rng.choice(V.ASSETS)))))
    for _ in range(poisson(rng, level * life_days / 420)):
        out.append((office_hours(rng, uniform_time(rng, c.created_at, now)), "webinar_attended",
                    False, props(("webinar", rng.choice(V.WEBINARS)))))
    for _ in range(poisson(rng, level * life_days / 400)):
        out.append((office_hours(rng, uniform_time(rng, c.created_at, now)), "form_fill", False,
                    props(("form", rng.choice(V.FORMS)))))
    return out


def _buying_burst(rng: random.Random, c: ContactSim, now: int) -> list[EventRow]:
    """A few days of research: pricing views, a webinar, maybe a demo request at the end."""
    start = office_hours(rng, uniform_time(rng, c.created_at, max(c.created_at + DAY, now - 3 * DAY)))
    length = int((1 + rng.random() * 13) * DAY)
    icp = c.account is not None and c.account.icp
    pricing = 1 + poisson(rng, 1.8)
    out: list[EventRow] = []
    for i in range(1 + rng.randrange(3)):
        at = office_hours(rng, start + length * i // 3)
        out += _session(rng, at, 1 + rng.randrange(4), pricing if i == 0 else rng.randrange(2))
    if rng.random() < 0.4:
        out.append((start + length // 2, "webinar_attended", False,
                     props(("webinar", rng.choice(V.WEBINARS)))))
    if rng.random() < 0.4:
        out.append((start + length // 3, "content_download", False,
                     props(("asset", rng.choice(V.ASSETS)))))
    if rng.random() < 0.45 + 0.15 * c.decision_maker + 0.1 * icp:
        out.append((start + length, "demo_request", False, props(("form", "request-a-demo"))))
    return out


def _tire_kicking(rng: random.Random, c: ContactSim, now: int) -> list[EventRow]:
    """Without intent, a stray pricing view or demo request still happens."""
    out: list[EventRow] = []
    if rng.random() < 0.15:
        out += _session(rng, office_hours(rng, uniform_time(rng, c.created_at, now)), 1, 1)
    if rng.random() < 0.015:
        out.append((uniform_time(rng, c.created_at, now), "demo_request", False,
                    props(("form", "request-a-demo"))))
    return out


def _trial(rng: random.Random, c: ContactSim) -> list[EventRow]:
    """Product usage in the first three weeks of a free trial."""
    n = poisson(rng, 1.5 + 4 * c.intent)
    out: list[EventRow] = [
        (c.created_at + int((i + rng.random()) * 21 * DAY / max(n, 1)), "trial_usage", False,
         props(("feature", rng.choice(V.TRIAL_FEATURES))))
        for i in range(n)
    ]
    if n >= 4 and rng.random() < 0.35:
        out.append((c.created_at + int(rng.random() * 14 * DAY), "teammate_invited", False,
                    props(("invited", "1"))))
    return out


def engage(rng: random.Random, c: ContactSim, now: int, sends: list[tuple[int, str]]) -> None:
    """Fill in a contact's marketing events (one-way), with intent planted where drawn."""
    c.intent = _intent(rng, c)
    level = math.exp(rng.gauss(0, 0.7))
    events: list[EventRow] = []
    source_event = V.SOURCE_EVENT.get(c.source)
    if source_event is not None:
        events.append((c.created_at, source_event, False, props(("source", c.source))))
    events += _emails(rng, c, sends, level)
    events += _browsing(rng, c, now, level)
    events += _buying_burst(rng, c, now) if c.intent else _tire_kicking(rng, c, now)
    if c.source == "free_trial":
        events += _trial(rng, c)
    c.events = sorted((e for e in events if c.created_at <= e[0] < now), key=lambda e: (e[0], e[1]))
