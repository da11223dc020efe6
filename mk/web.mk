# The web UI (web/: Angular + Tailwind), built into web/bundle/out and embedded
# in the binary. `make build` builds it first.
NPM ?= npm

.PHONY: web web-deps test-ui

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund --loglevel=error

web-deps: web/node_modules/.package-lock.json

web: web-deps
	cd web && npx ng build --configuration production

# Browser tests: a real `stella serve` with real scans, driven in Debian's
# chromium by playwright-core; screenshots go to docs/screenshots.
test-ui: build web-deps
	$(GO) run ./scripts/e2e-ui -stella $(BIN)
