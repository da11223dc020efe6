package dpkg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/analyze/os/dpkg/control"
)

var (
	seedOnce sync.Once
	seeds    map[string][]byte
)

// seedFiles: the dpkg files of the fixture images (a few .list files, all
// status files) plus testdata/.
func seedFiles(f *testing.F) map[string][]byte {
	seedOnce.Do(func() {
		seeds = map[string][]byte{}
		for _, image := range []string{"debian-app", "distroless", "debian-bullseye-old"} {
			files := analyzetest.Files(f, filepath.Join(analyzetest.ImageDir(f, image), "oci"), func(p string) bool {
				return Analyzer{}.Wants(p, nil) && (!strings.HasPrefix(p, infoDir) || strings.Contains(p, "libc6") || strings.Contains(p, "python3-yaml"))
			})
			for p, b := range files {
				seeds[image+"/"+p] = b
			}
		}
		ents, _ := os.ReadDir("testdata")
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				seeds["testdata/"+e.Name()] = b
			}
		}
	})
	return seeds
}

func FuzzParseStatus(f *testing.F) {
	for p, b := range seedFiles(f) {
		if !strings.Contains(p, infoDir) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := ParseStatus(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.SourceName == "" || p.SourceVersion == "" {
				t.Fatalf("incomplete package %+v", p)
			}
		}
	})
}

func FuzzParseList(f *testing.F) {
	for p, b := range seedFiles(f) {
		if strings.HasSuffix(p, ".list") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := ParseList(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, p := range files {
			if p == "" || p == "." || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." {
				t.Fatalf("bad path %q", p)
			}
		}
	})
}

// FuzzControl runs the stanza reader with small limits, so the limit paths
// are reached too.
func FuzzControl(f *testing.F) {
	for p, b := range seedFiles(f) {
		if !strings.Contains(p, infoDir) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := control.NewReader(bytes.NewReader(b), control.Limits{MaxLine: 512, MaxFields: 16, MaxStanzaBytes: 4096})
		for i := 0; ; i++ {
			st, err := r.Next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if len(st.Fields) == 0 || len(st.Fields) > 16 {
				t.Fatalf("stanza with %d fields", len(st.Fields))
			}
			if i > len(b) {
				t.Fatal("more stanzas than bytes")
			}
		}
	})
}
