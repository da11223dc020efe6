#!/usr/bin/env bash
# Builds FerretDB (the MongoDB wire-protocol server the MongoDB store tests
# run against, DESIGN.md §4) from the Go module proxy and caches the binary
# where internal/testsvc looks for it:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/stella-test/ferretdb-v1.24.2/ferretdb
# Idempotent: a no-op when the binary is already there.
#
# `go install …/cmd/ferretdb@v1.24.2` builds a binary that panics at start
# because the module ships without build/version/version.txt, so the module
# is copied to a temporary directory, the file is written, and the binary is
# built there with FerretDB's own go.mod (Stella's go.mod is never touched).
set -euo pipefail
ver=v1.24.2
dir="${XDG_CACHE_HOME:-$HOME/.cache}/stella-test/ferretdb-$ver"
bin="$dir/ferretdb"
if [ -x "$bin" ]; then
  exit 0
fi
echo "ferretdb.sh: building FerretDB $ver into $bin (once)" >&2
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod GO111MODULE=on
# Outside any module, so no go.mod or go.sum is read or written.
src=$(cd "$tmp" && go mod download -json "github.com/FerretDB/FerretDB@$ver" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  echo "ferretdb.sh: go mod download github.com/FerretDB/FerretDB@$ver gave no module directory" >&2
  exit 1
fi
cp -R "$src" "$tmp/src"
chmod -R u+w "$tmp/src"
printf '%s' "$ver" >"$tmp/src/build/version/version.txt"
mkdir -p "$dir"
(cd "$tmp/src" && go build -trimpath -o "$tmp/ferretdb" ./cmd/ferretdb)
# Atomic: a concurrent run or an interrupted build never leaves a partial binary.
mv -f "$tmp/ferretdb" "$bin.tmp.$$"
mv -f "$bin.tmp.$$" "$bin"
"$bin" --version >/dev/null
echo "ferretdb.sh: $("$bin" --version 2>&1 | head -1)" >&2
