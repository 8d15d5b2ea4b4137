#!/usr/bin/env bash
# Mutation check: plants each deliberate one-line bug of scripts/mutants.tsv, alone, in a scratch
# copy of the repository, runs the tests that must catch it, and prints a Markdown table of what
# they did. Exits non-zero when a bug was missed, or when a line no longer applies (stale: its
# old text is not found exactly once) or does not build and vet (invalid): it must be fixed.
#
# Usage: scripts/mutants.sh [--all] [--worktree] [--keep] [ID...]
#   ID...       only these mutants (default: every line of the file)
#   --all       run `go test ./...` for each mutant instead of its listed packages
#   --worktree  copy the working tree's files (uncommitted changes included) instead of HEAD
#   --keep      keep the scratch directory (the copy and each mutant's test log)
# The environment is passed on to go test: set PREVOIR_TEST_POSTGRES (and CI=true) to include
# the PostgreSQL variants, as `make test` does.
#
# scripts/mutants.tsv holds one mutant per line, fields separated by TABs:
#   id  file  old  new  packages  what
# old is an exact string (part of one line of code) found exactly once in file, new replaces
# it, packages are the space-separated package patterns whose tests must catch it, what says
# what the bug is. Empty lines and lines starting with # are ignored.
set -euo pipefail

usage() { sed -n '7,13s/^# \{0,1\}//p' "$0" >&2; exit 2; }

all=false worktree=false keep=false
ids=()
while [ $# -gt 0 ]; do
  case "$1" in
    --all) all=true ;;
    --worktree) worktree=true ;;
    --keep) keep=true ;;
    -h|--help) usage ;;
    -*) echo "mutants: unknown option $1" >&2; usage ;;
    *) ids+=("$1") ;;
  esac
  shift
done

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
table="$root/scripts/mutants.tsv"
[ -f "$table" ] || { echo "mutants: no $table" >&2; exit 2; }
export PATH="$PATH:/usr/local/go/bin" # the caller's go first, else the usual install

# The lines to run, checked for their six fields.
lines=()
n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  case "$line" in ''|'#'*) continue ;; esac
  fields=$(printf '%s' "$line" | awk -F'\t' '{ print NF }')
  if [ "$fields" -ne 6 ]; then
    echo "mutants: $table line $n has $fields TAB-separated fields, want 6 (id file old new packages what)" >&2
    exit 2
  fi
  id=${line%%$'\t'*}
  if [ ${#ids[@]} -gt 0 ]; then
    keepit=false
    for want in "${ids[@]}"; do [ "$want" = "$id" ] && keepit=true; done
    $keepit || continue
  fi
  lines+=("$line")
done <"$table"
if [ ${#ids[@]} -gt 0 ]; then
  for want in "${ids[@]}"; do
    found=false
    for line in "${lines[@]}"; do [ "${line%%$'\t'*}" = "$want" ] && found=true; done
    $found || { echo "mutants: no mutant $want in $table" >&2; exit 2; }
  done
fi
[ ${#lines[@]} -gt 0 ] || { echo "mutants: no mutant to run" >&2; exit 2; }

# The scratch copy: $tmp/repo (the tests need nothing outside the repository).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/prevoir-mutants.XXXXXX")
if $keep; then
  echo "mutants: scratch directory $tmp" >&2
else
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fi
mkdir -p "$tmp/repo" "$tmp/logs"
if $worktree; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$tmp/repo"
  rev="working tree of $(git -C "$root" rev-parse --short HEAD)"
else
  git -C "$root" archive HEAD | tar -xf - -C "$tmp/repo"
  rev=$(git -C "$root" rev-parse --short HEAD)
fi

# count prints how many times the text $OLD occurs in a file.
count() {
  OLD=$1 awk 'BEGIN { old = ENVIRON["OLD"]; n = 0 }
    { s = $0; while ((i = index(s, old)) > 0) { n++; s = substr(s, i + length(old)) } }
    END { print n }' "$2"
}

# replace writes the file with its one occurrence of $OLD replaced by $NEW to stdout.
replace() {
  OLD=$1 NEW=$2 awk 'BEGIN { old = ENVIRON["OLD"]; new = ENVIRON["NEW"] }
    { i = index($0, old); if (i > 0) $0 = substr($0, 1, i - 1) new substr($0, i + length(old)); print }' "$3"
}

# cell escapes a Markdown table cell.
cell() { printf '%s' "$1" | sed 's/|/\\|/g'; }

caught=0 missed=0 broken=0
rows=()
for line in "${lines[@]}"; do
  IFS=$'\t' read -r id file old new pkgs what <<<"$line"
  src="$tmp/repo/$file"
  log="$tmp/logs/$id.log"
  first=""
  if $all; then run=./...; else run=$pkgs; fi
  if [ ! -f "$src" ]; then
    result="stale: no file $file"
    broken=$((broken + 1))
  elif [ "$(count "$old" "$src")" -ne 1 ]; then
    result="stale: old text found $(count "$old" "$src") times"
    broken=$((broken + 1))
  else
    cp -p "$src" "$tmp/orig"
    replace "$old" "$new" "$tmp/orig" >"$src"
    echo "mutants: $id: go test -count=1 $run" >&2
    # shellcheck disable=SC2086 # the package patterns are words
    # The code is vet-clean before the edit: a mutant vet refuses (most often, one that does
    # not compile) must be rewritten.
    if ! (cd "$tmp/repo" && go vet $run) >"$log" 2>&1; then
      result="invalid: does not compile or vet"
      first=$(grep -m1 -E '\.go:[0-9]+' "$log" | sed "s|$tmp/repo/||" || true)
      broken=$((broken + 1))
    elif (cd "$tmp/repo" && go test -count=1 -timeout 20m $run) >>"$log" 2>&1; then
      result="**MISSED**"
      missed=$((missed + 1))
    else
      if grep -q '\[build failed\]' "$log"; then
        result="invalid: tests do not compile"
        broken=$((broken + 1))
      else
        result="caught"
        caught=$((caught + 1))
      fi
      # The first failing test, down to its innermost subtest.
      first=$(awk '/^ *--- FAIL: / { name = $3; next } name != "" { print name; exit }' "$log")
      [ -n "$first" ] || first=$(grep -m1 -E '^(panic:|FAIL)' "$log" || true)
    fi
    cp -p "$tmp/orig" "$src"
  fi
  rows+=("| $(cell "$id") | $(cell "$file") | $(cell "$what") | $(cell "$run") | $result | $(cell "$first") |")
done

echo "Mutants of $rev, $(date -u +%Y-%m-%d):"
echo
echo "| id | file | planted bug | packages tested | result | first failing test |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "${#lines[@]} mutants: $caught caught, $missed missed, $broken stale or invalid."
[ "$missed" -eq 0 ] && [ "$broken" -eq 0 ]
