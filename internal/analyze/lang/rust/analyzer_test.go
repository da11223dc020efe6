package rust

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom"
)

type fileInfo struct {
	size int64
	mode fs.FileMode
}

func (f fileInfo) Name() string       { return "f" }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

func polyglotLocks(t testing.TB) map[string][]byte {
	return analyzetest.Files(t, filepath.Join(analyzetest.ImageDir(t, "polyglot-lockfiles"), "oci"), func(p string) bool {
		return LockAnalyzer{}.Wants(p, nil)
	})
}

// ripgrep 0.10.0's Cargo.lock (v1, [metadata] checksums): the 76 registry
// crates of the ground truth and the 10 workspace crates of the optional
// rows, the latter with scope workspace.
func TestPolyglotCargoLock(t *testing.T) {
	files := polyglotLocks(t)
	if len(files) != 1 {
		t.Fatalf("%d Cargo.lock files, want 1", len(files))
	}
	optional := analyzetest.OptionalRows(t, "polyglot-lockfiles", sbom.Cargo)
	isOptional := map[string]bool{}
	for _, r := range optional {
		isOptional[r] = true
	}
	var got []string
	for p, b := range files {
		res, err := LockAnalyzer{}.Analyze(context.Background(), analyze.File{Path: p, Content: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range res.Packages {
			r := strings.Join([]string{pkg.Ecosystem, pkg.Name, pkg.Version, pkg.Paths[0]}, "\t")
			got = append(got, r)
			if want := map[bool]string{true: "workspace", false: ""}[isOptional[r]]; pkg.Scope != want {
				t.Errorf("%s: scope %q, want %q", pkg.Name, pkg.Scope, want)
			}
			if pkg.PURL != "pkg:cargo/"+pkg.Name+"@"+pkg.Version {
				t.Errorf("purl %s", pkg.PURL)
			}
		}
	}
	analyzetest.DiffRows(t, got, append(analyzetest.ExpectedRows(t, "polyglot-lockfiles", sbom.Cargo), optional...))
}

type summary struct{ Name, Version, Scope, Source string }

func summarize(pkgs []sbom.Package) []summary {
	var out []summary
	for _, p := range pkgs {
		out = append(out, summary{p.Name, p.Version, p.Scope, p.Metadata["source"]})
	}
	return out
}

func TestParseCargoLockFormats(t *testing.T) {
	tests := []struct {
		file string
		want []summary
	}{
		{"testdata/v3.Cargo.lock", []summary{
			{"app", "0.1.0", "workspace", ""},
			{"serde", "1.0.193", "", "registry+https://github.com/rust-lang/crates.io-index"},
			{"util", "0.1.0", "workspace", ""},
			{"yaml-rust", "0.4.5", "", "git+https://github.com/chyh1990/yaml-rust?rev=2e6d1f4#2e6d1f4"},
		}},
		// [[patch.unused]] lists patches that matched nothing: not packages.
		{"testdata/v4.Cargo.lock", []summary{
			{"bytes", "1.10.1", "", "registry+https://github.com/rust-lang/crates.io-index"},
			{"tool", "2.0.0-rc.1", "workspace", ""},
		}},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		pkgs, err := ParseCargoLock(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got := summarize(pkgs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
	if _, err := ParseCargoLock([]byte("{\"not\": \"toml\"}")); err == nil {
		t.Error("no error for a file without [[package]]")
	}
}

func TestAuditableBinary(t *testing.T) {
	b, err := os.ReadFile("testdata/auditable-hello")
	if err != nil {
		t.Fatal(err)
	}
	a := BinaryAnalyzer{}
	fi := fileInfo{int64(len(b)), 0o755}
	if !a.Wants("usr/local/bin/hello", fi) {
		t.Fatal("does not want an executable")
	}
	// In memory (an io.ReaderAt, as when several analyzers want the file)
	// and streamed: the same packages.
	res, err := a.Analyze(context.Background(), analyze.File{Path: "usr/local/bin/hello", Info: fi, Content: bytes.NewReader(b)})
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := a.Analyze(context.Background(), analyze.File{Path: "usr/local/bin/hello", Info: fi, Content: struct{ io.Reader }{bytes.NewReader(b)}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, streamed) {
		t.Errorf("streamed content gives %+v, in memory %+v", streamed, res)
	}
	// Every crate of the JSON the section was made from.
	js, err := os.ReadFile("testdata/auditable-hello.json")
	if err != nil {
		t.Fatal(err)
	}
	var vi struct {
		Packages []struct{ Name, Version string }
	}
	if err := json.Unmarshal(js, &vi); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, p := range vi.Packages {
		want = append(want, strings.Join([]string{sbom.Cargo, p.Name, p.Version, "usr/local/bin/hello"}, "\t"))
	}
	byName := map[string]sbom.Package{}
	for _, p := range res.Packages {
		got = append(got, strings.Join([]string{p.Ecosystem, p.Name, p.Version, p.Paths[0]}, "\t"))
		byName[p.Name] = p
	}
	analyzetest.DiffRows(t, got, want)
	if p := byName["hello-auditable"]; p.Scope != "workspace" || p.Metadata["root"] != "true" {
		t.Errorf("root crate: %+v", p)
	}
	if p := byName["cc"]; p.Metadata["kind"] != "build" || p.Scope != "" {
		t.Errorf("build dependency: %+v", p)
	}
	if p := byName["private-crate"]; p.Metadata["source"] != "sparse+https://registry.example.com/index/" {
		t.Errorf("other source: %+v", p)
	}

	plain, err := os.ReadFile("testdata/plain-hello")
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"no section": plain, "script": []byte("#!/bin/sh\necho hi\n"), "tiny": []byte("\x7f")} {
		res, err := a.Analyze(context.Background(), analyze.File{Path: "bin/x", Info: fileInfo{int64(len(in)), 0o755}, Content: bytes.NewReader(in)})
		if err != nil || res != nil {
			t.Errorf("%s: %+v, %v; want nothing", name, res, err)
		}
	}
	// A truncated ELF is an error naming the file.
	_, err = a.Analyze(context.Background(), analyze.File{Path: "bin/cut", Info: fileInfo{200, 0o755}, Content: bytes.NewReader(b[:200])})
	if err == nil || !strings.Contains(err.Error(), "bin/cut") {
		t.Errorf("truncated ELF: %v", err)
	}
}

func TestWants(t *testing.T) {
	l, bin := LockAnalyzer{}, BinaryAnalyzer{}
	for p, want := range map[string]bool{"src/cargo/Cargo.lock": true, "Cargo.lock": true, "x/NotCargo.lock": false, "Cargo.toml": false} {
		if l.Wants(p, nil) != want {
			t.Errorf("cargo-lock Wants(%q) != %v", p, want)
		}
	}
	for _, tc := range []struct {
		p    string
		fi   fs.FileInfo
		want bool
	}{
		{"usr/bin/rg", fileInfo{1 << 20, 0o755}, true},
		{"usr/bin/rg", fileInfo{1 << 20, 0o644}, false},
		{"usr/lib/libfoo.so.1", fileInfo{1 << 20, 0o755}, false},
		{"usr/bin/tiny", fileInfo{10, 0o755}, false},
		{"usr/bin/rg", nil, false},
	} {
		if got := bin.Wants(tc.p, tc.fi); got != tc.want {
			t.Errorf("cargo-auditable Wants(%q, %v) = %v", tc.p, tc.fi, got)
		}
	}
}

func FuzzParseCargoLock(f *testing.F) {
	for _, b := range polyglotLocks(f) {
		f.Add(b)
	}
	for _, n := range []string{"testdata/v3.Cargo.lock", "testdata/v4.Cargo.lock"} {
		b, _ := os.ReadFile(n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := ParseCargoLock(b)
		if err == nil {
			for _, p := range pkgs {
				if p.Name == "" || p.Version == "" {
					t.Fatalf("empty: %+v", p)
				}
			}
		}
	})
}

func FuzzParseAuditableBinary(f *testing.F) {
	for _, n := range []string{"testdata/auditable-hello", "testdata/plain-hello"} {
		b, _ := os.ReadFile(n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseAuditableBinary(b) })
}

func FuzzParseAuditJSON(f *testing.F) {
	b, _ := os.ReadFile("testdata/auditable-hello.json")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseAuditJSON(b) })
}
