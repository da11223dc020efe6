package scan

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
)

// A registry that wants Basic credentials: Stella takes them from the
// Docker config file or from the environment, and names the reference
// when it has none.
func TestRegistryAuth(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="stella-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/fixtures/whiteouts:v1"

	idx, err := layout.ImageIndexFromPath(filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "whiteouts", "oci"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Run("none", func(t *testing.T) {
		_, _, err := SBOM(context.Background(), ref, Options{})
		if err == nil || !strings.Contains(err.Error(), "whiteouts:v1") {
			t.Fatalf("want an error naming the reference, got %v", err)
		}
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv("STELLA_REGISTRY_USERNAME", "alice")
		t.Setenv("STELLA_REGISTRY_PASSWORD", "s3cret")
		if _, _, err := SBOM(context.Background(), ref, Options{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("docker-config", func(t *testing.T) {
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		if _, _, err := SBOM(context.Background(), ref, Options{}); err != nil {
			t.Fatal(err)
		}
	})
}
