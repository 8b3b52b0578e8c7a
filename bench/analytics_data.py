"""Turn the bench_scale database into a realistic year of funnel history, set-based.

`bench_scale.py` imports 1M contacts that all start as leads on the same day, and no deals. The
funnel and the audit would have almost nothing to do on that, so this module copies the database
and, with NumPy draws (seeded) and a few `INSERT … SELECT`s, gives it:

- creation dates spread over the 13 months before `NOW` (cohorts);
- a ledger per contact from one of a dozen journeys (the demo's shapes): leads that stay leads,
  MQLs, SALs, SQLs, opportunities, customers, recycled leads (MQL → nurture → MQL), sales
  rejections (SAL → MQL with a reason), disqualified leads, product-led trials that skip to SQL,
  direct purchases that skip to customer, stalled deals (opportunity → SQL);
- about 12 % of accounts as customers: their contacts are customers (routed, as imports do), with a
  signed and booked deal; open deals (with a committee) at accounts with opportunity contacts;
- BANT evidence, a rep meeting (two-way, buying signal) and an owner for every qualified contact;
- planted flaws at low rates, so every audit rule has something to find: SQLs without authority,
  SALs without owner, customer accounts whose deal is not booked or that churned, open deals that
  are lost, past their close date or stale, a few leads at customer accounts.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

MARKER = "bench_analytics_data"
SDRS = ("Sam Ortiz", "Lena Fischer", "Kofi Mensah", "Ava Lindqvist", "Ravi Menon")
AES = ("Dana Whitaker", "Marcus Reed", "Priya Natarajan", "Tom Becker", "Elena Rossi", "Jordan Blake")
SOURCES = ("form_fill", "content_download", "webinar", "list_import", "newsletter", "outbound")
OPEN_STAGES = ("discovery", "demo", "proposal", "negotiation")
QUALIFIED = ("sql", "opportunity", "customer")
REJECT_REASONS = ("no budget this year", "wrong persona: no buying role", "just researching, no project")

# journey name → the stages it enters, in order (the first entry is the creation)
JOURNEYS: dict[str, tuple[str, ...]] = {
    "lead": ("lead",),
    "mql": ("lead", "mql"),
    "sal": ("lead", "mql", "sal"),
    "sql": ("lead", "mql", "sal", "sql"),
    "opportunity": ("lead", "mql", "sal", "sql", "opportunity"),
    "customer": ("lead", "mql", "sal", "sql", "opportunity", "customer"),
    "nurture": ("lead", "mql", "nurture"),
    "recycled": ("lead", "mql", "nurture", "mql", "sal"),
    "rejected": ("lead", "mql", "sal", "mql"),
    "disqualified": ("lead", "disqualified"),
    "trial": ("lead", "sql"),
    "direct": ("lead", "customer"),
    "stalled": ("lead", "mql", "sal", "sql", "opportunity", "sql"),
}
# journey weights for contacts at customer accounts / ICP-fit contacts elsewhere / the rest
AT_CUSTOMER = {
    "customer": 0.85,
    "direct": 0.10,
    "opportunity": 0.02,
    "sql": 0.015,
    "sal": 0.01,
    "lead": 0.005,
}
FIT = {
    "lead": 0.58,
    "mql": 0.08,
    "sal": 0.04,
    "recycled": 0.02,
    "rejected": 0.04,
    "nurture": 0.06,
    "sql": 0.07,
    "trial": 0.01,
    "opportunity": 0.05,
    "stalled": 0.01,
    "disqualified": 0.04,
}
NO_FIT = {"lead": 0.85, "mql": 0.05, "nurture": 0.04, "disqualified": 0.06}


# (from, to) → (actor, reason); "sdr"/"ae" stand for the contact's reps, "reject" for its reason
MOVES: dict[tuple[str | None, str], tuple[str, str]] = {
    (None, "lead"): ("import:contacts.csv", "imported"),
    ("lead", "mql"): ("rule:score", "score reached the threshold"),
    ("nurture", "mql"): ("rule:score", "score reached the threshold"),
    ("mql", "sal"): ("sdr", "accepted"),
    ("sal", "sql"): ("ae", "qualified: need, authority, timeline"),
    ("sql", "opportunity"): ("ae", "opportunity opened"),
    ("opportunity", "customer"): ("rule:account-customer", "contract signed and booked"),
    ("mql", "nurture"): ("sdr", "timing: revisit next quarter"),
    ("sal", "mql"): ("sdr", "reject"),
    ("lead", "disqualified"): ("sdr", "no use case"),
    ("lead", "sql"): ("rule:trial", "product-led trial"),
    ("lead", "customer"): ("rule:account-customer", "direct purchase signed and booked"),
    ("opportunity", "sql"): ("ae", "deal stalled: back to prospect"),
}


def _steps() -> list[tuple[int, int, int, str | None, str, str, str]]:
    """(journey, step, steps, from, to, actor, reason) for every step of every journey."""
    out = []
    for j, stages in enumerate(JOURNEYS.values()):
        for k, to in enumerate(stages):
            frm = stages[k - 1] if k else None
            out.append((j, k, len(stages), frm, to, *MOVES[frm, to]))
    return out


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    names = list(JOURNEYS)
    p = np.array(list(weights.values()))
    return np.array([names.index(k) for k in weights])[rng.choice(len(weights), n, p=p / p.sum())]


def copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database (its WAL checkpointed first)."""
    with sqlite3.connect(source) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def enrich(path: Path, now: datetime, seed: int = 7) -> dict[str, int]:
    """Rewrite the ledger, stages, evidence, deals and spend of the database at `path` (see module doc)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("PRAGMA cache_size=-1000000")
    if con.execute("SELECT 1 FROM meta WHERE key = ?", (MARKER,)).fetchone():
        return counts(con)
    con.execute("BEGIN")
    _plan(con, now, np.random.default_rng(seed))
    _ledger(con)
    _people(con)
    _deals(con, now)
    _meetings(con)
    _spend(con, now)
    con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (MARKER, now.isoformat()))
    con.execute("COMMIT")
    out = counts(con)
    con.close()
    return out


def counts(con: sqlite3.Connection) -> dict[str, int]:
    """Row counts of the tables the analytics read."""
    tables = (
        "accounts",
        "contacts",
        "events",
        "stage_changes",
        "evidence",
        "opportunities",
        "opportunity_contacts",
        "spend",
    )
    out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    for stage, n in con.execute("SELECT stage, count(*) FROM contacts GROUP BY stage ORDER BY 2 DESC"):
        out[f"stage:{stage}"] = n
    return out


def _plan(con: sqlite3.Connection, now: datetime, rng: np.random.Generator) -> None:
    """One row per contact: journey, creation, pace, reps and flaws (temp table `plan`)."""
    rows = con.execute(
        "SELECT c.id, COALESCE(c.account_id, 0), COALESCE(s.fit, 0) FROM contacts c "
        "LEFT JOIN scores s ON s.contact_id = c.id ORDER BY c.id"
    ).fetchall()
    ids, acc, fit = (np.array(x) for x in zip(*rows, strict=True))
    n = len(ids)
    customer_account = rng.random(int(acc.max()) + 1) < 0.12
    customer_account[0] = False
    journey = np.where(
        customer_account[acc],
        _pick(rng, AT_CUSTOMER, n),
        np.where(fit >= 30, _pick(rng, FIT, n), _pick(rng, NO_FIT, n)),
    )
    start = now.replace(tzinfo=None) - timedelta(days=395)
    created = rng.uniform(0, 395 * 86_400, n)
    span = (395 * 86_400 - created) * rng.uniform(0.15, 0.9, n)  # the journey uses part of the time left
    flaw = rng.random(n)
    sdr = rng.integers(0, len(SDRS), n)
    ae = rng.integers(0, len(AES), n)
    con.execute(
        "CREATE TEMP TABLE plan (contact_id INTEGER PRIMARY KEY, account_id INT, journey INT, created TEXT,"
        " span INT, flaw REAL, sdr TEXT, ae TEXT, reason TEXT)"
    )
    con.executemany(
        "INSERT INTO plan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                int(i),
                int(a) or None,
                int(j),
                (start + timedelta(seconds=int(c))).strftime("%Y-%m-%d %H:%M:%S"),
                int(s),
                float(f),
                SDRS[d],
                AES[e],
                REJECT_REASONS[int(i) % len(REJECT_REASONS)],
            )
            for i, a, j, c, s, f, d, e in zip(ids, acc, journey, created, span, flaw, sdr, ae, strict=True)
        ),
    )
    con.execute("CREATE TEMP TABLE customer_account (id INTEGER PRIMARY KEY)")
    con.executemany(
        "INSERT INTO customer_account VALUES (?)", ((int(a),) for a in np.flatnonzero(customer_account))
    )


def _ledger(con: sqlite3.Connection) -> None:
    """Replace the ledger with the planned journeys; set each contact's stage, owner and dates."""
    con.execute(
        "CREATE TEMP TABLE step (journey INT, step INT, steps INT, from_stage TEXT, to_stage TEXT, "
        "actor TEXT, reason TEXT)"
    )
    con.executemany("INSERT INTO step VALUES (?, ?, ?, ?, ?, ?, ?)", _steps())
    triggers = con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stage_changes'"
    )
    saved = [r[0] for r in triggers]
    con.execute("DROP TRIGGER IF EXISTS stage_changes_no_update")
    con.execute("DROP TRIGGER IF EXISTS stage_changes_no_delete")
    con.execute("DELETE FROM stage_changes")
    version = con.execute("SELECT version FROM policies WHERE active").fetchone()[0]
    con.execute(
        "INSERT INTO stage_changes "
        "(contact_id, from_stage, to_stage, at, actor, reason, evidence, policy_version) "
        "SELECT p.contact_id, s.from_stage, s.to_stage, "
        " datetime(p.created, '+' || (p.span * s.step / s.steps) || ' seconds'), "
        " CASE s.actor WHEN 'sdr' THEN p.sdr WHEN 'ae' THEN p.ae ELSE s.actor END, "
        " CASE s.reason WHEN 'reject' THEN p.reason ELSE s.reason END, '{}', ? "
        "FROM plan p JOIN step s ON s.journey = p.journey ORDER BY p.contact_id, s.step",
        (version,),
    )
    for sql in saved:
        con.execute(sql)
    con.execute(
        "CREATE TEMP TABLE last AS SELECT p.contact_id, s.to_stage AS stage, "
        " datetime(p.created, '+' || (p.span * s.step / s.steps) || ' seconds') AS at "
        "FROM plan p JOIN step s ON s.journey = p.journey AND s.step = s.steps - 1"
    )
    con.execute(
        "UPDATE contacts SET created_at = p.created, stage = l.stage, stage_entered_at = l.at, "
        " updated_at = l.at, "
        " owner = CASE WHEN l.stage = 'sal' AND p.flaw < 0.02 THEN NULL "
        "  WHEN l.stage = 'sal' THEN p.sdr WHEN l.stage IN ('sql', 'opportunity', 'customer') THEN p.ae END "
        "FROM plan p JOIN last l ON l.contact_id = p.contact_id WHERE contacts.id = p.contact_id"
    )


def _people(con: sqlite3.Connection) -> None:
    """BANT (and enterprise) evidence at SQL entry; planted: 2 % of current SQLs lack authority."""
    con.execute(
        "CREATE TEMP TABLE qualified AS SELECT sc.contact_id, min(sc.at) AS at FROM stage_changes sc "
        "WHERE sc.to_stage = 'sql' OR (sc.to_stage = 'customer' AND sc.from_stage = 'lead') "
        "GROUP BY sc.contact_id"
    )
    fields = ["need", "authority", "timeline", "budget", "champion", "initiative", "next_meeting"]
    con.execute("CREATE TEMP TABLE field (name TEXT, enterprise INT)")
    con.executemany("INSERT INTO field VALUES (?, ?)", [(f, i >= 4) for i, f in enumerate(fields)])
    con.execute(
        "INSERT INTO evidence (contact_id, field, value, confirmed_by, confirmed_at) "
        "SELECT q.contact_id, f.name, f.name || ' confirmed on a discovery call', p.ae, q.at "
        "FROM qualified q JOIN plan p ON p.contact_id = q.contact_id "
        "JOIN contacts c ON c.id = q.contact_id LEFT JOIN accounts a ON a.id = c.account_id "
        "JOIN field f ON f.enterprise = 0 OR COALESCE(a.employees, 0) >= 1000 "
        "WHERE NOT (f.name = 'authority' AND c.stage = 'sql' AND p.flaw < 0.02) ORDER BY q.contact_id"
    )
    con.execute(
        "UPDATE accounts SET owner = (SELECT p.ae FROM plan p WHERE p.account_id = accounts.id LIMIT 1) "
        "WHERE id IN (SELECT id FROM customer_account)"
    )


def _deals(con: sqlite3.Connection, now: datetime) -> None:
    """A booked deal per customer account, an open deal per account with opportunity contacts."""
    day = now.strftime("%Y-%m-%d %H:%M:%S")
    con.execute(
        "CREATE TEMP TABLE deal_plan AS SELECT c.account_id AS account_id, "
        " max(c.stage = 'customer') AS won, max(c.stage = 'opportunity') AS open, "
        " min(c.stage_entered_at) AS at, "
        " min(p.ae) AS ae, (c.account_id * 2654435761 % 4294967296) / 4294967296.0 AS r "
        "FROM contacts c JOIN plan p ON p.contact_id = c.id "
        "WHERE c.stage IN ('customer', 'opportunity') AND c.account_id IS NOT NULL GROUP BY c.account_id"
    )
    amount = (
        "round((1 + (account_id % 37)) * 4000.0 * (1 + (SELECT employees FROM accounts a "
        "WHERE a.id = account_id) / 2000.0), -2)"
    )
    # won: planted 2 % without a booking (LL003/LL015), 1 % churned after the booking (LL012)
    con.execute(
        "INSERT INTO opportunities (external_id, account_id, name, type, stage, amount, expected_close, "
        "signed_at, booked_at, lost_reason, owner, created_at, updated_at) "
        f"SELECT 'won-' || account_id, account_id, 'Platform', 'new', 'closed_won', {amount}, at, "
        " datetime(at, '-2 days'), CASE WHEN r < 0.02 THEN NULL ELSE datetime(at, '-1 days') END, NULL, ae, "
        " datetime(at, '-60 days'), at FROM deal_plan WHERE won"
    )
    con.execute(
        "UPDATE accounts SET churned_at = min(datetime(d.at, '+30 days'), datetime(?, '-1 days')) "
        "FROM deal_plan d WHERE d.account_id = accounts.id AND d.won AND d.r >= 0.02 AND d.r < 0.03",
        (day,),
    )
    stages = " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(OPEN_STAGES))
    # open: planted 3 % lost (LL002), past close (LL006), stale (LL007), unowned (LL008)
    con.execute(
        "INSERT INTO opportunities (external_id, account_id, name, type, stage, amount, expected_close, "
        "signed_at, booked_at, lost_reason, owner, created_at, updated_at) "
        f"SELECT 'open-' || account_id, account_id, CASE WHEN won THEN 'Expansion' ELSE 'Platform' END, "
        " CASE WHEN won THEN 'expansion' ELSE 'new' END, "
        " CASE WHEN r < 0.03 THEN 'closed_lost' ELSE "
        f"  (CASE account_id % 4 {stages} END) END, "
        f" {amount}, CASE WHEN r >= 0.03 AND r < 0.10 THEN datetime(?, '-20 days') "
        "  ELSE datetime(?, '+' || (30 + account_id % 120) || ' days') END, NULL, NULL, "
        " CASE WHEN r < 0.03 THEN 'no decision' END, CASE WHEN r >= 0.10 AND r < 0.12 THEN NULL ELSE ae END, "
        " at, CASE WHEN r >= 0.12 AND r < 0.20 THEN datetime(?, '-90 days') ELSE datetime(?, '-5 days') END "
        "FROM deal_plan WHERE open",
        (day, day, day, day),
    )
    con.execute(
        "INSERT INTO opportunity_contacts (opportunity_id, contact_id, role) "
        "SELECT o.id, c.contact_id, CASE c.rn WHEN 1 THEN 'champion' WHEN 2 THEN 'economic_buyer' "
        " ELSE 'influencer' END FROM opportunities o JOIN ("
        "  SELECT ct.id AS contact_id, ct.account_id, ct.stage, "
        "   row_number() OVER (PARTITION BY ct.account_id, ct.stage ORDER BY ct.id) AS rn "
        "  FROM contacts ct WHERE ct.stage IN ('customer', 'opportunity')) c "
        " ON c.account_id = o.account_id AND c.stage = CASE WHEN o.external_id LIKE 'won-%' "
        "  THEN 'customer' ELSE 'opportunity' END AND c.rn <= 4"
    )


def _meetings(con: sqlite3.Connection) -> None:
    """A held meeting (two-way, a buying signal) a day after SAL or SQL entry; 8 % of SALs get none."""
    anchor, half_life = (
        con.execute("SELECT value FROM meta WHERE key = ?", (k,)).fetchone()[0]
        for k in ("activity_anchor", "activity_half_life_days")
    )
    lam = math.log(2) / (float(half_life) * 86_400)
    a0 = datetime.fromisoformat(anchor).replace(tzinfo=UTC).timestamp()
    con.execute(
        "CREATE TEMP TABLE meeting AS SELECT sc.contact_id, 'meeting_held' AS type, "
        " datetime(min(sc.at), '+1 days') AS occurred_at, 1 AS two_way, 0.0 AS w "
        "FROM stage_changes sc JOIN contacts c ON c.id = sc.contact_id JOIN plan p ON p.contact_id = c.id "
        "WHERE sc.to_stage IN ('sal', 'sql') AND NOT (c.stage = 'sal' AND p.flaw >= 0.02 AND p.flaw < 0.10) "
        "GROUP BY sc.contact_id"
    )
    con.execute(
        f"UPDATE meeting SET w = exp({lam!r} * ((julianday(occurred_at) - 2440587.5) * 86400.0 - {a0!r}))"
    )
    con.execute(
        "INSERT INTO events (event_id, contact_id, type, occurred_at, two_way, properties) "
        "SELECT 'm' || contact_id, contact_id, type, occurred_at, 1, NULL FROM meeting ORDER BY contact_id"
    )
    con.execute(
        "UPDATE contact_activity SET two_way_n = two_way_n + 1, meeting_held_n = meeting_held_n + 1, "
        " meeting_held_w = meeting_held_w + m.w, "
        " last_activity_at = max(COALESCE(last_activity_at, ''), m.occurred_at) "
        "FROM meeting m WHERE m.contact_id = contact_activity.contact_id"
    )


def _spend(con: sqlite3.Connection, now: datetime) -> None:
    """Monthly spend per source for the 13 months of cohorts."""
    month = now.year * 12 + now.month - 1
    rows = [
        (
            s,
            f"{(month - k) // 12:04d}-{(month - k) % 12 + 1:02d}",
            5_000.0 + 1_000 * i + 100 * k,
            now.isoformat(" "),
        )
        for i, s in enumerate(SOURCES)
        for k in range(14)
    ]
    con.executemany(
        "INSERT OR REPLACE INTO spend (source, month, amount, updated_at) VALUES (?, ?, ?, ?)", rows
    )
