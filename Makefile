# Stella — see README.md for what each target does.
GO        ?= go
BIN       ?= bin/stella
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 3s

.PHONY: build install test test-short fuzz lint bench compare demo clean

build: web
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/stella

install:
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/stella

# The whole suite: unit, integration (real registry on loopback), ground
# truth, hostile inputs, then every fuzz target for $(FUZZTIME).
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(MAKE) test-deploy
	$(MAKE) test-ui
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

test-short:
	$(GO) test ./...

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Wall time and peak RSS of `stella sbom` next to the raw work on the same
# layers and next to trivy/syft when they are on PATH.
bench: build
	scripts/bench.sh

demo: build
	$(BIN) sbom -f table demo/images/debian-bullseye-old

clean:
	rm -rf bin

# Rules of separate concerns (proto generation, release) live in mk/.
-include mk/*.mk

# Findings only Stella has / only a peer has (trivy, grype, osv-scanner on PATH).
compare: build
	scripts/compare.sh
