#!/usr/bin/env bash
# Set up the project and run the main job end to end on demo data.
# The database is a SQLite file, leadledger-demo.db in the repo root, recreated on every run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e .

export LEADLEDGER_DATABASE_URL="sqlite:///$PWD/leadledger-demo.db"
rm -f leadledger-demo.db leadledger-demo.db-journal leadledger-demo.db-wal leadledger-demo.db-shm

run() {
    echo
    echo "\$ leadledger $*"
    .venv/bin/leadledger "$@"
}
run init
run demo
run score
run contacts --limit 10
run sweep
run forecast
run audit --limit 8

cat <<MSG

Demo database: $PWD/leadledger-demo.db
Try next:
  source .venv/bin/activate
  export LEADLEDGER_DATABASE_URL=$LEADLEDGER_DATABASE_URL
  leadledger contacts --limit 20
  leadledger explain <email>          # why a contact has its score (pick an email from above)
  leadledger move <email> customer    # stage changes need evidence; see what it asks for
  leadledger funnel                   # conversion by cohort, time in stage, sources, CAC/CLV
  leadledger report --month $(date -u -d "$(date -u +%Y-%m-15) -1 month" +%Y-%m) --out report.html   # last month as HTML
  leadledger train                    # predictive model from this ledger's outcomes, with suggested rule weights
  leadledger user add admin --role admin && leadledger serve   # dashboard at http://127.0.0.1:8000
  leadledger --help
MSG
