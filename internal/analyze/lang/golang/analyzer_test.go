package golang

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/analyze/lang/groundtruth"
	"github.com/stella-scan/stella/internal/sbom"
)

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

type file struct {
	data []byte
	mode fs.FileMode
}

// platformFiles flattens the image of one platform of an OCI layout (the
// first image when platform is ""), keeping every regular file with its
// mode, so Wants sees what the layer walk would show it.
func platformFiles(t *testing.T, image, platform string) map[string]file {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(filepath.Join(analyzetest.ImageDir(t, image), "oci"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		sub, err := idx.ImageIndex(m.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		sm, err := sub.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range sm.Manifests {
			if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture == platform {
				img, err = sub.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if img == nil {
			t.Fatalf("%s: no image for %s", image, platform)
		}
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]file{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = file{b, h.FileInfo().Mode()}
	}
	return out
}

// analyzeFiles hands every file the analyzer wants to Analyze.
func analyzeFiles(t *testing.T, files map[string]file) []sbom.Package {
	t.Helper()
	a := Analyzer{}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []sbom.Package
	for _, p := range paths {
		f := files[p]
		fi := fileInfo{name: path.Base(p), size: int64(len(f.data)), mode: f.mode}
		if !a.Wants(p, fi) {
			continue
		}
		res, err := a.Analyze(context.Background(), analyze.File{Path: p, Info: fi, Content: bytes.NewReader(f.data)})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if res != nil {
			out = append(out, res.Packages...)
		}
	}
	return out
}

func TestImages(t *testing.T) {
	for _, tt := range []struct{ image, platform, expected string }{
		{"debian-app", "", "debian-app"},
		{"debian-app-v2", "", "debian-app-v2"},
		{"distroless", "", "distroless"},
		{"multiarch", "linux/amd64", "multiarch.linux-amd64"},
		{"multiarch", "linux/arm64", "multiarch.linux-arm64"},
		{"polyglot-lockfiles", "", "polyglot-lockfiles"},
	} {
		t.Run(tt.expected, func(t *testing.T) {
			want := groundtruth.Load(t, tt.expected+".packages.tsv", func(r groundtruth.Row) bool { return r.Ecosystem == sbom.Golang })
			pkgs := analyzeFiles(t, platformFiles(t, tt.image, tt.platform))
			groundtruth.Compare(t, tt.expected, want, groundtruth.FromPackages(pkgs, false))
		})
	}
}

// TestArm64Binary checks that the arm64 build is read as such.
func TestArm64Binary(t *testing.T) {
	files := platformFiles(t, "multiarch", "linux/arm64")
	f, ok := files["usr/local/bin/stella-demo"]
	if !ok {
		t.Fatal("no usr/local/bin/stella-demo in the arm64 image")
	}
	pkgs, err := ParseBinary(bytes.NewReader(f.data))
	if err != nil {
		t.Fatal(err)
	}
	if got := pkgs[0].Metadata["GOARCH"]; got != "arm64" {
		t.Errorf("GOARCH = %q, want arm64", got)
	}
	if pkgs[0].Name != "stdlib" || pkgs[0].CPEs[0] != "cpe:2.3:a:golang:go:1.21.0:*:*:*:*:*:*:*" {
		t.Errorf("stdlib package = %+v", pkgs[0])
	}
	for _, p := range pkgs {
		if p.Name == "golang.org/x/text" && p.Metadata["replacedBy"] != "golang.org/x/text v0.3.7" {
			t.Errorf("x/text replacedBy = %q", p.Metadata["replacedBy"])
		}
		if p.Name == "example.com/stella-demo" && p.PURL != "pkg:golang/example.com/stella-demo" {
			t.Errorf("main module purl = %q", p.PURL)
		}
	}
}

func TestWants(t *testing.T) {
	exe := fileInfo{size: 1 << 20, mode: 0o755}
	plain := fileInfo{size: 1 << 20, mode: 0o644}
	tiny := fileInfo{size: 100, mode: 0o755}
	tests := []struct {
		path string
		fi   fs.FileInfo
		want bool
	}{
		{"usr/local/bin/stella-demo", exe, true},
		{"opt/app/server", exe, true},
		{"usr/bin/tool", plain, true},
		{"bin/tool", plain, true},
		{"usr/share/doc/readme", plain, false},
		{"usr/bin/tiny.sh", tiny, false},
		{"src/golang/go.mod", plain, true},
		{"go.mod", plain, true},
		{"src/app/vendor/github.com/x/y/go.mod", plain, false},
		{"root/go/pkg/mod/github.com/x/y@v1.0.0/go.mod", plain, false},
		{"src/app/internal/testdata/go.mod", plain, false},
		{"src/golang/go.sum", plain, false},
	}
	for _, tt := range tests {
		if got := (Analyzer{}).Wants(tt.path, tt.fi); got != tt.want {
			t.Errorf("Wants(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestGoModStdSkipped(t *testing.T) {
	const std = "module std\n\ngo 1.19\n\nrequire (\n\tgolang.org/x/crypto v0.0.0-20220525230936-793ad666bf5e\n\tgolang.org/x/net v0.0.0-20220907013720-d52c520e3766\n)\n"
	pkgs, err := ParseGoMod(strings.NewReader(std))
	if err != nil || len(pkgs) != 0 {
		t.Errorf("GOROOT go.mod: %d packages, err %v; want none", len(pkgs), err)
	}
}

func TestNotGo(t *testing.T) {
	for name, in := range map[string][]byte{
		"script":     []byte("#!/bin/sh\necho hi\n"),
		"elf-not-go": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 9000)...),
		"empty":      nil,
	} {
		res, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: "usr/bin/" + name, Content: bytes.NewReader(in)})
		if err != nil || res != nil {
			t.Errorf("%s: %v, %v; want nothing", name, res, err)
		}
	}
	_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: "x/go.mod", Content: strings.NewReader("require (\n")})
	if err == nil || !strings.Contains(err.Error(), "x/go.mod") {
		t.Errorf("garbage go.mod: error %v, want one naming the file", err)
	}
}
