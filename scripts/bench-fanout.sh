#!/usr/bin/env bash
# Training fan-out benchmark (issue 16): one training of every configured target, queued on a
# fresh PostgreSQL database and worked by WORKERS `prevoir worker` processes (each niced and
# running one job at a time), timed as the queue records it: from the train job's creation to
# the end of the last job of its batch (every target's train_model and select_champion jobs).
# Prints one line: workers, targets, models, jobs, seconds. See docs/benchmarks/targets.md.
#
# Usage: scripts/bench-fanout.sh WORKERS [TARGETS [MODELS]]
#   WORKERS  number of worker processes
#   TARGETS  the --targets setting (default: all)
#   MODELS   the --models setting (default: each target's own defaults)
# Environment: PREVOIR_BENCH_POSTGRES, the URL of a PostgreSQL server's maintenance database
# (e.g. postgres://postgres:postgres@127.0.0.1:5432/postgres): the script creates a database
# of its own there and drops it at the end. PREVOIR_TRAIN_ORIGINS and the other PREVOIR_
# settings are passed on.
set -euo pipefail

workers=${1:?usage: scripts/bench-fanout.sh WORKERS [TARGETS [MODELS]]}
targets=${2:-all}
models=${3:-}
server=${PREVOIR_BENCH_POSTGRES:?set PREVOIR_BENCH_POSTGRES to a PostgreSQL maintenance database URL}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
db="prevoir_fanout_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$server" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/prevoir" ./cmd/prevoir)
psql -q "$server" -c "CREATE DATABASE $db" >/dev/null
base=${server%%\?*}
export PREVOIR_DB="${base%/*}/$db${server#"$base"}"
export PREVOIR_ARTIFACTS="$tmp/artifacts" PREVOIR_TARGETS="$targets" PREVOIR_LOG_LEVEL=warn
[ -n "$models" ] && export PREVOIR_MODELS="$models"
bin="$tmp/prevoir"

"$bin" run ingest --source-dir "$root/testdata" >/dev/null
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$((20000 + $$ % 20000))
PREVOIR_ADMIN_TOKEN=$token "$bin" serve --no-worker --addr "127.0.0.1:$port" 2>"$tmp/serve.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
for i in $(seq "$workers"); do
  "$bin" worker --nice 10 --job-workers 1 2>"$tmp/worker$i.log" &
  pids+=($!)
done
sleep 2 # the workers are up before the training is queued

train=$(curl -fs -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/actions/retrain?target=all" | jq -r .job_id)
batch="train-$train"
while :; do
  "$bin" jobs --json --limit 10000 >"$tmp/jobs.json"
  state=$(jq -r --arg b "$batch" --argjson id "$train" '
    [.[] | select(.id == $id or .args.batch == $b)] as $js
    | ($js | map(select(.finalized_at == null)) | length) as $open
    | ($js | map(select(.kind == "select_champion")) | length) as $sel
    | "\($open) \($sel) \($js | length)"' "$tmp/jobs.json")
  read -r open sel total <<<"$state"
  # Done when nothing of the batch is unfinished and the fan-out has queued its selections.
  if [ "$open" = 0 ] && [ "$sel" -gt 0 ]; then break; fi
  sleep 1
done
failed=$(jq -r --arg b "$batch" '[.[] | select(.args.batch == $b and .state != "completed")] | length' "$tmp/jobs.json")
[ "$failed" = 0 ] || { echo "bench-fanout: $failed jobs of $batch did not complete:" >&2; jq --arg b "$batch" '.[] | select(.args.batch == $b and .state != "completed")' "$tmp/jobs.json" >&2; exit 1; }
created=$(jq -r --argjson id "$train" '.[] | select(.id == $id) | .created_at' "$tmp/jobs.json")
last=$(jq -r --arg b "$batch" '[.[] | select(.args.batch == $b) | .finalized_at] | max' "$tmp/jobs.json")
secs=$(echo "$(date -d "$last" +%s.%N) - $(date -d "$created" +%s.%N)" | bc)
echo "workers=$workers targets=$targets models=${models:-defaults} selections=$sel jobs=$((total - 1)) seconds=$secs"
