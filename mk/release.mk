# Stella's own release: a static, reproducible binary and an OCI image built
# with go-containerregistry (no Docker engine), its SBOMs attached as
# referrers, signed and attested when RELEASE_KEY names an ECDSA P-256 key
# (`stella release keygen cosign.key cosign.pub`).
#
#   make release            dist/stella, dist/stella-image (OCI), dist/stella-image.tar
#   make release-digest     the same; the image digest is the last line printed
#   make release-verify RELEASE_PUB=cosign.pub    stella verify of dist/stella-image
#   make release-push RELEASE_REPO=host/stella    the image, .sig/.att tags and
#                           SBOM referrers to a registry (then cosign verify
#                           --key cosign.pub --insecure-ignore-tlog works there)
#
# The version stamp is $(VERSION) (git describe --dirty): build from a clean
# checkout for a reproducible release; timestamps come from the commit time.
COMMIT            ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
RELEASE_LDFLAGS   := -s -w -buildid= -X main.version=$(VERSION)
RELEASE_KEY       ?=
RELEASE_PUB       ?=
RELEASE_REPO      ?=

.PHONY: release release-digest release-verify release-push test-deploy

dist/stella: FORCE
	@mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(RELEASE_LDFLAGS)' -o dist/stella ./cmd/stella

release: dist/stella
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) dist/stella release build --binary dist/stella --out dist \
		--version $(VERSION) --commit $(COMMIT) --ldflags '$(RELEASE_LDFLAGS)' $(if $(RELEASE_KEY),--key $(RELEASE_KEY)) >dist/digest
	@echo "dist/stella-image (OCI layout), dist/stella-image.tar (docker-archive)"

release-digest: release
	@tail -1 dist/digest

release-verify:
	@test -n "$(RELEASE_PUB)" || { echo "RELEASE_PUB=cosign.pub is required" >&2; exit 2; }
	dist/stella verify oci:dist/stella-image --key $(RELEASE_PUB)

release-push:
	@test -n "$(RELEASE_REPO)" || { echo "RELEASE_REPO=registry/repository is required" >&2; exit 2; }
	dist/stella release push dist/stella-image $(RELEASE_REPO)

FORCE:

# The Kubernetes manifests, the Helm chart and the seccomp/AppArmor
# profiles, checked against the Kubernetes API types (deploy/validate is a
# module of its own).
test-deploy:
	cd deploy/validate && $(GO) test -count=1 ./...
