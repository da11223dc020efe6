#!/usr/bin/env bash
# Installs what Stella's build and tests need on a fresh Debian machine with
# Go. Idempotent: installed things are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v make >/dev/null || need_apt+=(make)
command -v gcc >/dev/null || need_apt+=(gcc)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null; fi
fi
go mod download
