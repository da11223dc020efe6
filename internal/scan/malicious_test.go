package scan

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/layer"
)

// Every hostile fixture ends promptly in a clear error naming the image
// and the blob or entry at fault (device files: a warning naming the
// entry), with bounded memory.
func TestMalicious(t *testing.T) {
	dir := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "malicious")
	cases := []struct {
		name string
		want []string // substrings of the error
		warn string   // expected warning instead of an error
		lim  layer.Limits
	}{
		{name: "path-traversal", want: []string{"tar entry", "../../etc/evil", "leaves the root"}},
		{name: "symlink-escape", want: []string{"tar entry", "escape/etc/evil", "through a symlink"}},
		{name: "hardlink-escape", want: []string{"tar entry", "etc/shadow-link", "hard link target"}},
		{name: "gzip-bomb", want: []string{"layer 1 (sha256:", "exceeds the limit"}},
		{name: "zstd-bomb", want: []string{"layer 1 (sha256:", "exceeds the limit"}},
		// With the per-file limit raised, the stream limits stop the bombs.
		{name: "gzip-bomb", want: []string{"compression ratio", "--max-compression-ratio"}, lim: layer.Limits{MaxFileSize: 16 << 30}},
		{name: "zstd-bomb", want: []string{"compression ratio", "--max-compression-ratio"}, lim: layer.Limits{MaxFileSize: 16 << 30}},
		{name: "zstd-bomb", want: []string{"uncompressed layer size", "--max-layer-size"}, lim: layer.Limits{MaxFileSize: 16 << 30, MaxRatio: 1 << 40, MaxLayerSize: 64 << 20}},
		{name: "huge-single-file", want: []string{"huge.bin", "file size", "--max-file-size"}},
		{name: "corrupt-gzip", want: []string{"layer 1 (sha256:"}},
		{name: "truncated-layer", want: []string{"layer 1 (sha256:"}},
		{name: "digest-mismatch", want: []string{"digest mismatch", "manifest says sha256:", "content is sha256:"}},
		{name: "bad-manifest", want: []string{"manifest sha256:"}},
		{name: "too-many-layers", want: []string{"10000 layers", "--max-layers"}},
		{name: "device-file", warn: "dev/mem"},
		{name: "absolute-path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := "oci:" + filepath.Join(dir, c.name)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			doc, st, err := SBOM(context.Background(), target, Options{Limits: c.lim})
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 256<<20 {
				t.Errorf("heap grew by %d MB", grew>>20)
			}
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.warn != "" && !strings.Contains(strings.Join(st.Warnings, "\n"), c.warn) {
					t.Errorf("warnings %q do not name %q", st.Warnings, c.warn)
				}
				if c.name == "absolute-path" && doc == nil {
					t.Fatal("no document")
				}
				return
			}
			if err == nil {
				t.Fatalf("no error for %s", c.name)
			}
			msg := err.Error()
			if !strings.Contains(msg, target) {
				t.Errorf("error does not name the input %s: %s", target, msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			var ie *image.InputError
			if !asInputError(err, &ie) {
				t.Errorf("error is not an input error (exit code 3): %T", err)
			}
			t.Log(msg)
		})
	}
}

func asInputError(err error, target **image.InputError) bool {
	return errorsAs(err, target)
}

var errorsAs = errors.As
