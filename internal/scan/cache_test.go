package scan

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/cache"
	"github.com/stella-scan/stella/internal/testsvc"
)

// blobLog records the blob digests a registry served.
type blobLog struct {
	mu  sync.Mutex
	got []string
}

func (b *blobLog) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.got
	b.got = nil
	return g
}

func countingRegistry(t *testing.T) (string, *blobLog) {
	bl := &blobLog{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 {
				bl.mu.Lock()
				bl.got = append(bl.got, r.URL.Path[i+len("/blobs/"):])
				bl.mu.Unlock()
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), bl
}

// layerBlobs keeps the requested digests that are layers of doc's image.
func layerBlobs(got []string, layers map[string]bool) []string {
	var out []string
	for _, g := range got {
		if layers[g] {
			out = append(out, g)
		}
	}
	return out
}

// Delta processing against a real registry: a rescan of an unchanged image
// downloads no layer blob; debian-app:v2 after v1 downloads exactly the one
// changed layer; with the disk cache and with Redis.
func TestLayerCacheRegistry(t *testing.T) {
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	backends := map[string]func(t *testing.T) cache.Store{
		"disk": func(t *testing.T) cache.Store {
			s, err := cache.OpenDisk(t.TempDir(), cache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"redis": func(t *testing.T) cache.Store {
			s, err := cache.OpenRedis(testsvc.Redis(t, "maxmemory 256mb", "maxmemory-policy allkeys-lru"), cache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			host, bl := countingRegistry(t)
			push(t, filepath.Join(images, "debian-app", "oci"), host+"/app:v1")
			push(t, filepath.Join(images, "debian-app-v2", "oci"), host+"/app:v2")
			c := open(t)
			ctx := context.Background()
			scan := func(tag string) ([]string, *Stats, int) {
				t.Helper()
				bl.take()
				doc, st, err := SBOM(ctx, host+"/app:"+tag, Options{Cache: c})
				if err != nil {
					t.Fatal(err)
				}
				layers := map[string]bool{}
				for _, l := range doc.Image.Layers {
					layers[l.Digest] = true
				}
				return layerBlobs(bl.take(), layers), st, len(doc.Packages)
			}
			first, _, n1 := scan("v1")
			if len(first) != 5 {
				t.Fatalf("cold scan downloaded %d layer blobs, want 5", len(first))
			}
			again, st, n2 := scan("v1")
			if len(again) != 0 {
				t.Errorf("rescan of an unchanged image downloaded %d layer blobs: %v", len(again), again)
			}
			if n2 != n1 {
				t.Errorf("rescan found %d packages, cold scan %d", n2, n1)
			}
			if !st.ImageCache {
				t.Error("rescan did not come from the image cache")
			}
			v2, st2, _ := scan("v2")
			if len(v2) != 1 {
				t.Fatalf("v2 after v1 downloaded %d layer blobs, want exactly the changed one: %v", len(v2), v2)
			}
			var hits, misses int
			for _, l := range st2.Layers {
				switch l.Cache {
				case "hit":
					hits++
					if l.Downloaded != 0 {
						t.Errorf("layer %d hit but downloaded %d bytes", l.Index, l.Downloaded)
					}
				case "miss":
					misses++
					if l.Index != 3 || l.Downloaded == 0 {
						t.Errorf("miss on layer %d (downloaded %d), want layer 3", l.Index, l.Downloaded)
					}
				}
			}
			if hits != 4 || misses != 1 {
				t.Errorf("v2: %d hits, %d misses; want 4 and 1", hits, misses)
			}
		})
	}
}
