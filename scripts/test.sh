#!/usr/bin/env bash
# Run the whole test suite: ruff, mypy, import contracts, then pytest against a real,
# throwaway PostgreSQL. Works on a fresh clone. Extra arguments go to pytest.
#
# Fails if any test was skipped: the PostgreSQL (and browser) tests must never silently skip.
# `scripts/test.sh --check-junit FILE` only runs that check on an existing junit XML file.
set -euo pipefail
if [ "${1:-}" = --check-junit ]; then
    set -- --check-junit "$(realpath -m "${2:?usage: $0 --check-junit FILE}")" # before the cd
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Reads a pytest junit XML file, prints a summary, exits 1 on skips, failures or zero tests.
# xfail (reported by pytest as <skipped type="pytest.xfail">) is deliberate, so not a skip.
check_junit() {
    python3 - "$1" "${2:-}" <<'EOF'
import sys
import xml.etree.ElementTree as ET

path, wall = sys.argv[1], sys.argv[2]
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError) as exc:
    sys.exit(f"FAIL: no readable pytest results in {path}: {exc}")
counts = dict.fromkeys(["passed", "failed", "errors", "skipped", "xfailed"], 0)
skips = []
for case in root.iter("testcase"):
    test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
    skipped = case.find("skipped")
    if case.find("failure") is not None:
        counts["failed"] += 1
    elif case.find("error") is not None:
        counts["errors"] += 1
    elif skipped is not None and skipped.get("type") == "pytest.xfail":
        counts["xfailed"] += 1
    elif skipped is not None:
        counts["skipped"] += 1
        skips.append((test_id, skipped.get("message") or (skipped.text or "").strip()))
    else:
        counts["passed"] += 1
duration = sum(float(s.get("time", 0)) for s in root.iter("testsuite"))
summary = ", ".join(f"{v} {k}" for k, v in counts.items())
print(f"\nSUMMARY: {summary} in {duration:.1f}s (pytest)" + (f", {wall}s total" if wall else ""))
problems = []
if skips:
    problems.append(f"{len(skips)} test(s) skipped; every test must run:")
    problems += [f"  {test_id}: {reason}" for test_id, reason in skips]
if counts["passed"] + counts["failed"] + counts["errors"] == 0:
    problems.append("no tests ran")
if counts["failed"] or counts["errors"]:
    problems.append(f"{counts['failed']} failed, {counts['errors']} errors")
if problems:
    sys.exit("FAIL: " + "\n".join(problems))
print("OK")
EOF
}

if [ "${1:-}" = --check-junit ]; then
    check_junit "$2"
    exit
fi

started=$SECONDS
step() { echo; echo "==> $*"; }

step "python environment"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]' # every run, so newly added dependencies are picked up
export OMP_NUM_THREADS=1            # keep polars & co. from oversubscribing small CI machines

step "PostgreSQL"
# Leave a cluster alone if the developer already started one by hand; stop ours on exit.
if ! bash scripts/pg.sh status; then
    trap 'bash scripts/pg.sh stop' EXIT
fi
bash scripts/pg.sh start >/dev/null
source .pg/env # exports LEADLEDGER_TEST_PG_URL
export LEADLEDGER_REQUIRE_PG=1
echo "LEADLEDGER_TEST_PG_URL=$LEADLEDGER_TEST_PG_URL"

step "Chromium"
bash scripts/chromium.sh # Debian's package, for tests/browser (Playwright never downloads a browser)
/usr/bin/chromium --version

step "ruff"
.venv/bin/ruff check src tests bench
step "mypy"
.venv/bin/mypy
step "import contracts"
.venv/bin/lint-imports

step "pytest"
rm -f .pytest-results.xml
pytest_rc=0
.venv/bin/pytest -q --junitxml=.pytest-results.xml "$@" || pytest_rc=$?
check_junit .pytest-results.xml $((SECONDS - started))
exit "$pytest_rc" # e.g. an internal pytest error that the XML does not show
