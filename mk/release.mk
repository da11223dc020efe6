# Stella's own release: a static, reproducible binary and an OCI image built
# with go-containerregistry (no Docker engine), its SBOMs attached as
# referrers, signed and attested when RELEASE_KEY names an ECDSA P-256 key
# (`stella release keygen cosign.key cosign.pub`).
#
#   make release            dist/stella, dist/stella-image (OCI), dist/stella-image.tar
#   make release-digest     the same; the image digest is the last line printed
COMMIT            ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
RELEASE_LDFLAGS   := -s -w -buildid= -X main.version=$(VERSION)
RELEASE_KEY       ?=

.PHONY: release release-digest test-deploy

dist/stella: FORCE
	@mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(RELEASE_LDFLAGS)' -o dist/stella ./cmd/stella

release: dist/stella
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) dist/stella release build --binary dist/stella --out dist \
		--version $(VERSION) --commit $(COMMIT) --ldflags '$(RELEASE_LDFLAGS)' $(if $(RELEASE_KEY),--key $(RELEASE_KEY)) >dist/digest
	@echo "dist/stella-image (OCI layout), dist/stella-image.tar (docker-archive)"

release-digest: release
	@tail -1 dist/digest

FORCE:

# The Kubernetes manifests, the Helm chart and the seccomp/AppArmor
# profiles, checked against the Kubernetes API types (deploy/validate is a
# module of its own).
test-deploy:
	cd deploy/validate && $(GO) test -count=1 ./...
