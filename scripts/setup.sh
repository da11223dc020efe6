#!/usr/bin/env bash
# Installs what Stella's build and tests need on a fresh Debian machine with
# Go. Idempotent: installed things are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v make >/dev/null || need_apt+=(make)
command -v gcc >/dev/null || need_apt+=(gcc)
command -v redis-server >/dev/null || need_apt+=(redis-server)   # cache and queue tests
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need_apt+=(rabbitmq-server)   # sink transport tests
[ -x /usr/bin/time ] || need_apt+=(time)                           # make bench
[ -f /etc/ssl/certs/ca-certificates.crt ] || need_apt+=(ca-certificates)   # shipped in Stella's image
[ -x /usr/bin/chromium ] || need_apt+=(chromium)                   # UI browser tests (playwright-core drives it)
command -v npm >/dev/null || need_apt+=(nodejs npm)                # the UI build
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null; fi
fi
# Tests start their own redis-server and rabbitmq-server on free ports; the
# packaged services are not needed.
for svc in redis-server rabbitmq-server; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
go mod download

# The OPA server for the sidecar tests (--opa-url), built from the Go module
# proxy at the version go.mod pins, cached outside the repository where the
# tests look for it.
opa_ver=$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
opa_dir="${XDG_CACHE_HOME:-$HOME/.cache}/stella-test/opa-$opa_ver"
if [ ! -x "$opa_dir/opa" ]; then
  echo "setup: building opa $opa_ver (once)" >&2
  GOBIN="$opa_dir" go install "github.com/open-policy-agent/opa@$opa_ver"
fi
scripts/ferretdb.sh
# The web UI's dependencies (Angular, Tailwind, playwright-core, axe-core),
# exactly as package-lock.json pins them; no browser download.
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
