#!/usr/bin/env bash
# Runs every fuzz target in the module for $FUZZTIME (default 3s) each.
# Longer by hand: FUZZTIME=10m scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
n=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    go test -run '^$' -fuzz "^${f}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/stella-fuzz.log 2>&1 || { cat /tmp/stella-fuzz.log; echo "fuzz $pkg $f FAILED"; exit 1; }
    n=$((n+1))
  done
done
echo "fuzz: $n targets ran for $fuzztime each"
