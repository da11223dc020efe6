#!/usr/bin/env bash
# FeedMerge ingest rates for NVD and OSV: records/s and MB/s of input from
# a local mirror of N records (the real documents in ../shared repeated
# under new ids), DB size per 10k advisories, and the full-NVD estimate.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== FeedMerge ingest (N=${STELLA_BENCH_N:-20000} records per source)"
STELLA_BENCH_N=${STELLA_BENCH_N:-20000} go test ./internal/vulndb -run '^$' -bench 'Ingest' -benchtime 1x 2>&1 \
  | grep -E '^Benchmark' | sed 's/^Benchmark//'
