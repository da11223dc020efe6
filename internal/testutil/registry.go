package testutil

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry starts go-containerregistry's registry on a loopback port for
// the test and returns its HOST:PORT.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// PushLayout copies the first manifest (image or index) of the OCI layout
// at ociDir to ref (plain HTTP) and returns its digest.
func PushLayout(ociDir, ref string) (string, error) {
	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ociDir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ociDir, err)
	}
	if len(m.Manifests) == 0 {
		return "", fmt.Errorf("push %s: empty index", ociDir)
	}
	d := m.Manifests[0]
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if d.MediaType.IsIndex() {
		sub, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return "", fmt.Errorf("push %s: %w", ociDir, err)
		}
		if err := remote.WriteIndex(r, sub); err != nil {
			return "", fmt.Errorf("push %s to %s: %w", ociDir, ref, err)
		}
	} else {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return "", fmt.Errorf("push %s: %w", ociDir, err)
		}
		if err := remote.Write(r, img); err != nil {
			return "", fmt.Errorf("push %s to %s: %w", ociDir, ref, err)
		}
	}
	return d.Digest.String(), nil
}
