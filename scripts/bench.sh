#!/usr/bin/env bash
# make bench: wall time and peak RSS of `stella sbom` (cold: no cache) for
# debian-app and for the biggest image available, next to the raw work on
# the same layers (inflate + tar listing, sequential and in parallel across
# the cores) and next to trivy and syft when they are on PATH. All numbers
# come from this run; ratios are computed from them.
#
# Images: ../shared/testdata/images/debian-app/oci, and BIG (default
# /work/bench/big/oci, else $XDG_CACHE_HOME/stella-bench/big/oci), built
# with ../shared/testdata/images/tools/make-big-image.sh when BUILD_BIG=1.
set -euo pipefail
cd "$(dirname "$0")/.."
STELLA=${STELLA:-bin/stella}
SHARED=${SHARED:-../shared}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/stella-bench
BIG=${BIG:-}
if [ -z "$BIG" ]; then
  for d in /work/bench/big/oci "$CACHE/big/oci"; do [ -f "$d/index.json" ] && BIG=$d && break; done
fi
if [ -z "$BIG" ] && [ "${BUILD_BIG:-0}" = 1 ]; then
  "$SHARED/testdata/images/tools/make-big-image.sh" "$CACHE/big" >&2
  BIG=$CACHE/big/oci
fi
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 1; }
nproc=$(nproc)

# measure CMD...: prints "seconds peakKB" of one run.
measure() {
  local out
  out=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1)
  echo "$out"
}

# layer blobs of an OCI layout's (first) image, in manifest order.
blobs() {
  python3 - "$1" <<'PY'
import json, sys, os
d = sys.argv[1]
def blob(dg): return os.path.join(d, "blobs", *dg.split(":"))
m = json.load(open(os.path.join(d, "index.json")))["manifests"][0]
man = json.load(open(blob(m["digest"])))
if "manifests" in man:
    man = json.load(open(blob(man["manifests"][0]["digest"])))
for l in man["layers"]:
    print(blob(l["digest"]))
PY
}


bench_image() {
  local label=$1 dir=$2
  local files; files=$(blobs "$dir")
  local nl; nl=$(echo "$files" | wc -l)
  local size; size=$(du -cb $files | tail -1 | cut -f1)
  echo "== $label: $nl layers, $((size / 1000000)) MB compressed"
  # Warm the page cache so every contender reads from memory.
  cat $files >/dev/null
  printf '%s\n' $files > /tmp/stella-bench-files
  local seq par st
  seq=$(measure bash -c 'while read -r f; do $(scripts/bench-inflate.sh "$f") "$f" | tar -t >/dev/null; done < /tmp/stella-bench-files')
  par=$(measure bash -c "xargs -P $nproc -I{} bash -c '\$(scripts/bench-inflate.sh {}) {} | tar -t >/dev/null' < /tmp/stella-bench-files")
  st=$(measure "$STELLA" sbom --no-cache -f json "oci:$dir")
  printf '%-34s %8s s %8s MB\n' "inflate+tar -t, one after another" "${seq% *}" "$(( ${seq#* } / 1024 ))"
  printf '%-34s %8s s %8s MB\n' "inflate+tar -t, $nproc in parallel" "${par% *}" "$(( ${par#* } / 1024 ))"
  printf '%-34s %8s s %8s MB\n' "stella sbom (cold)" "${st% *}" "$(( ${st#* } / 1024 ))"
  local truth; truth=$(dirname "$dir")/expected.packages.tsv
  [ -f "$truth" ] || truth=$SHARED/testdata/images/expected/$label.packages.tsv
  if [ -f "$truth" ]; then
    "$STELLA" sbom --no-cache -f json "oci:$dir" > /tmp/stella-bench-sbom.json
    python3 - "$truth" <<'PY'
import json, sys
norm = lambda v: "" if v == "(devel)" else v
got = {(p["ecosystem"], p["name"], norm(p["version"])) for p in json.load(open("/tmp/stella-bench-sbom.json"))["packages"]}
want = set()
for i, line in enumerate(open(sys.argv[1])):
    c = line.rstrip("\n").split("\t")
    if i and len(c) >= 3:
        want.add((c[0], c[1], norm(c[2])))
tp = len(got & want)
print(f"{'packages vs ground truth':34s} recall {tp}/{len(want)}, precision {tp}/{len(got)}")
PY
  fi
  local cdir; cdir=$(mktemp -d)
  "$STELLA" sbom --cache "$cdir" -f json "oci:$dir" >/dev/null
  local warm; warm=$(measure "$STELLA" sbom --cache "$cdir" -f json "oci:$dir")
  printf '%-34s %8s s %8s MB\n' "stella sbom (warm, image cache)" "${warm% *}" "$(( ${warm#* } / 1024 ))"
  printf '%-34s %s\n' "warm whole-process, 20 runs" "$(p95 20 "$STELLA" sbom --cache "$cdir" -f json "oci:$dir")"
  if [ -n "${3:-}" ]; then # one layer changed: the v2 image after v1
    local one; one=$(measure "$STELLA" sbom --cache "$cdir" -f json "oci:$3")
    printf '%-34s %8s s %8s MB  (%s)\n' "one layer changed (v2 after v1)" "${one% *}" "$(( ${one#* } / 1024 ))" \
      "$("$STELLA" sbom --cache "$cdir" -f json "oci:$3" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["packages"]), "packages")')"
  fi
  printf '%-34s %s\n' "warm in-process, 20 runs" "$(STELLA_BENCH_IMAGE=$(cd "$dir" && pwd) go test ./internal/scan -run '^$' -bench WarmSBOM -benchtime 20x 2>/dev/null | awk '/^Benchmark/ {sub(/^BenchmarkWarmSBOM\//,""); printf "%s median %s ms p95 %s ms; ", $1, $5, $7}')"
  rm -rf "$cdir"
  ratio "stella / parallel inflate" "${st% *}" "${par% *}"
  ratio "stella / sequential inflate" "${st% *}" "${seq% *}"
  if command -v trivy >/dev/null; then
    local tv; tv=$(measure trivy image --quiet --skip-db-update --skip-java-db-update --scanners vuln --list-all-pkgs --format json --cache-dir "$(mktemp -d)" --input "$dir")
    printf '%-34s %8s s %8s MB\n' "trivy (cold)" "${tv% *}" "$(( ${tv#* } / 1024 ))"
    ratio "stella / trivy" "${st% *}" "${tv% *}"
  else
    echo "trivy: not on PATH"
  fi
  if command -v syft >/dev/null; then
    local sy; sy=$(measure syft -q "oci-dir:$dir" -o cyclonedx-json)
    printf '%-34s %8s s %8s MB\n' "syft" "${sy% *}" "$(( ${sy#* } / 1024 ))"
    ratio "stella / syft" "${st% *}" "${sy% *}"
  else
    echo "syft: not on PATH"
  fi
}

# p95 N CMD...: median and P95 wall time of N whole-process runs.
p95() {
  local n=$1; shift
  local ts=()
  for _ in $(seq "$n"); do
    local t0; t0=$(date +%s%N)
    "$@" >/dev/null
    ts+=($(( ($(date +%s%N) - t0) / 1000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.95+0.999); printf "median %.1f ms, p95 %.1f ms", a[int((NR+1)/2)]/1000, a[i]/1000}'
}

ratio() { awk -v a="$2" -v b="$3" -v l="$1" 'BEGIN { if (b > 0) printf "%-34s %8.2fx\n", l, a / b }'; }

[ -x "$STELLA" ] || { echo "$STELLA missing: run make build" >&2; exit 1; }
bench_image debian-app "$SHARED/testdata/images/debian-app/oci" "$SHARED/testdata/images/debian-app-v2/oci"
if [ -n "$BIG" ]; then
  big2=$(mktemp -d)/big-v2
  python3 scripts/bench-v2.py "$BIG" "$SHARED/testdata/images/whiteouts/oci" "$big2"
  bench_image "big ($BIG)" "$BIG" "$big2"
  rm -rf "$(dirname "$big2")"
else
  echo "== big image: not built (BUILD_BIG=1 make bench builds it, ~6 min, ~4 GB scratch)"
fi
# stella scan next to stella sbom on debian-app, with a DB of the shared feeds.
db=$(mktemp -d)/stella.db
"$STELLA" db sync --mirror "$SHARED/testdata/feeds" --db "$db" >/dev/null 2>&1
echo "== scan vs sbom (debian-app, DB of ../shared/testdata/feeds)"
sb=$(measure "$STELLA" sbom --no-cache -f json "oci:$SHARED/testdata/images/debian-app/oci")
sc=$(measure "$STELLA" scan --no-cache --db "$db" -f json "oci:$SHARED/testdata/images/debian-app/oci")
printf '%-34s %8s s %8s MB\n' "stella sbom (cold)" "${sb% *}" "$(( ${sb#* } / 1024 ))"
printf '%-34s %8s s %8s MB\n' "stella scan (cold)" "${sc% *}" "$(( ${sc#* } / 1024 ))"
echo "== server: stella serve with auth and quotas on, debian-app from a loopback registry"
go run ./scripts/benchserve -stella "$STELLA" -db "$db" -image "$SHARED/testdata/images/debian-app/oci" -scans 200 -c 4
rm -rf "$(dirname "$db")"
echo "== plug-in call overhead (a process per call: start, handshake, call, kill)"
go test ./internal/plugin -run '^$' -bench PluginCall -benchtime 20x 2>/dev/null | grep -E '^Benchmark' | sed 's/^Benchmark//'
echo "== matching throughput (packages/s against the DB of all local feeds)"
go test ./internal/match -run '^$' -bench . -benchtime 5x 2>/dev/null | grep -E '^Benchmark' | sed 's/^Benchmark//'
echo "== policy evaluation (1,000 findings; budget 5 ms by the default bundle; OrgRules adds a rule over every finding)"
go test ./internal/policy -run '^$' -bench 'Evaluate1000(OrgRules)?$' -benchtime 200x 2>/dev/null | grep -E '^Benchmark' | sed 's/^Benchmark//'
if [ -x scripts/bench-feeds.sh ]; then scripts/bench-feeds.sh; fi
