#!/usr/bin/env bash
# Runs every fuzz target in the module for $FUZZTIME (default 3s) each.
# Longer by hand: FUZZTIME=10m scripts/fuzz.sh
#
# A target fails the run when the fuzzer finds a failing input (it writes
# it under testdata/fuzz/). Go's fuzzer sometimes ends a short run with a
# bare "context deadline exceeded" when the time runs out mid-minimisation,
# without any failing input: such a run is retried once, and a second
# flake is reported as a warning, not a failure (nothing was found).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    ok=0
    for try in 1 2; do
      if go test -run '^$' -fuzz "^${f}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then ok=1; break; fi
      if grep -q "Failing input written" "$log" || ! grep -q "context deadline exceeded" "$log"; then break; fi
      echo "fuzz $pkg $f: deadline flake without a failing input (try $try)" >&2
      [ "$try" = 2 ] && ok=1
    done
    if [ $ok = 0 ]; then cat "$log"; echo "fuzz $pkg $f FAILED"; exit 1; fi
    n=$((n+1))
  done
done
echo "fuzz: $n targets ran for $fuzztime each"
