// Package sbomtest holds what the codec tests share: a realistic document
// built by hand, a comparison of decoded packages, the official JSON
// schemas from ../shared/testdata/schemas, and golden-file handling.
package sbomtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom"
)

// Document returns a Debian 12 image with OS packages and npm, Go, PyPI and
// Maven packages, two layers, an OS package that owns a Python package,
// a dependency, licences as SPDX ids, an expression and free text.
func Document() *sbom.Document {
	deb := &sbom.Distro{ID: "debian", Version: "12", Codename: "bookworm", Name: "Debian GNU/Linux 12 (bookworm)"}
	l1 := "sha256:1f2b7e4ad0e5b3b3f1b3c3d6b8f3e5f4c1d2a3b4c5d6e7f8091a2b3c4d5e6f70"
	l2 := "sha256:9a8b7c6d5e4f30211f2e3d4c5b6a79880a1b2c3d4e5f60718293a4b5c6d7e8f9"
	pk := func(p sbom.Package) sbom.Package {
		if sbom.IsOS(p.Ecosystem) {
			p.Distro = deb
		}
		if p.PURL == "" {
			p.PURL = sbom.PURL(&p)
		}
		return p
	}
	d := &sbom.Document{
		Target: "registry.example.com/shop/app:1.4",
		Image: &sbom.Image{
			Name:     "registry.example.com/shop/app:1.4",
			Digest:   "sha256:4c1c3a5b2e0f9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa",
			ConfigID: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Platform: "linux/amd64",
			Tags:     []string{"1.4"},
			Layers: []sbom.Layer{
				{Index: 1, DiffID: l1, Digest: "sha256:aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11"},
				{Index: 2, DiffID: l2},
			},
		},
		Distro:  deb,
		Source:  "unpack",
		Created: "2024-05-01T12:00:00Z",
		Packages: []sbom.Package{
			pk(sbom.Package{ID: "deb-libc6", Name: "libc6", Version: "2.36-9+deb12u4", Ecosystem: sbom.Deb,
				SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", Arch: "amd64",
				Licenses: []string{"GPL-2.0-or-later", "LGPL-2.1-or-later"},
				CPEs:     []string{"cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*"},
				Layer:    l1, LayerIndex: 1, Paths: []string{"var/lib/dpkg/status"},
				Metadata: map[string]string{"maintainer": "GNU Libc Maintainers <debian-glibc@lists.debian.org>"}}),
			pk(sbom.Package{ID: "deb-libssl3", Name: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: sbom.Deb,
				SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2", Arch: "amd64",
				Licenses: []string{"Apache-2.0"},
				CPEs:     []string{"cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*"},
				Layer:    l1, LayerIndex: 1, Paths: []string{"var/lib/dpkg/status"}}),
			pk(sbom.Package{ID: "deb-python3-yaml", Name: "python3-yaml", Version: "6.0-3+b2", Ecosystem: sbom.Deb,
				SourceName: "pyyaml", SourceVersion: "6.0-3", Arch: "amd64",
				Layer: l2, LayerIndex: 2, Paths: []string{"var/lib/dpkg/status"},
				Files: []string{"usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO"}}),
			pk(sbom.Package{ID: "pypi-pyyaml", Name: "PyYAML", Version: "6.0", Ecosystem: sbom.PyPI,
				Licenses: []string{"MIT"}, OwnedBy: "deb-python3-yaml",
				Layer: l2, LayerIndex: 2, Paths: []string{"usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO"}}),
			pk(sbom.Package{ID: "npm-babel-core", Name: "@babel/core", Version: "7.23.2", Ecosystem: sbom.NPM,
				Licenses: []string{"MIT"}, Scope: "dev",
				Layer: l2, LayerIndex: 2, Paths: []string{"app/package-lock.json"},
				Metadata: map[string]string{"source": "lockfile"}}),
			pk(sbom.Package{ID: "npm-lodash", Name: "lodash", Version: "4.17.21", Ecosystem: sbom.NPM,
				Licenses: []string{"MIT"}, Scope: "prod",
				Layer: l2, LayerIndex: 2, Paths: []string{"app/node_modules/lodash/package.json", "app/package-lock.json"}}),
			pk(sbom.Package{ID: "go-app", Name: "example.com/shop/app", Version: "(devel)", Ecosystem: sbom.Golang,
				Layer: l2, LayerIndex: 2, Paths: []string{"usr/local/bin/app"},
				Metadata: map[string]string{sbom.MetaRoot: "true"}}),
			pk(sbom.Package{ID: "go-toml", Name: "github.com/BurntSushi/toml", Version: "v1.3.2", Ecosystem: sbom.Golang,
				Licenses: []string{"MIT"},
				Layer:    l2, LayerIndex: 2, Paths: []string{"usr/local/bin/app"}}),
			pk(sbom.Package{ID: "go-stdlib", Name: "stdlib", Version: "go1.21.3", Ecosystem: sbom.Golang,
				Licenses: []string{"BSD-3-Clause"},
				CPEs:     []string{"cpe:2.3:a:golang:go:1.21.3:*:*:*:*:*:*:*"},
				Layer:    l2, LayerIndex: 2, Paths: []string{"usr/local/bin/app"}}),
			pk(sbom.Package{ID: "go-xnet", Name: "golang.org/x/net", Version: "v0.17.0", Ecosystem: sbom.Golang,
				Licenses: []string{"BSD-3-Clause OR MIT"},
				Layer:    l2, LayerIndex: 2, Paths: []string{"usr/local/bin/app"}}),
			pk(sbom.Package{ID: "maven-log4j-core", Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: sbom.Maven,
				Licenses: []string{"Apache License, Version 2.0"},
				CPEs: []string{"cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*",
					"cpe:2.3:a:apache:log4j-core:2.14.1:*:*:*:*:*:*:*"},
				Layer: l2, LayerIndex: 2, Paths: []string{"app/lib/log4j-core-2.14.1.jar"}}),
		},
		Relationships: []sbom.Relationship{
			{From: "deb-python3-yaml", To: "pypi-pyyaml", Type: sbom.RelOwns},
			{From: "npm-babel-core", To: "npm-lodash", Type: sbom.RelDependsOn},
			{From: "go-app", To: "go-toml", Type: sbom.RelDependsOn},
			{From: "go-app", To: "go-xnet", Type: sbom.RelDependsOn},
		},
	}
	return d
}

// Summary is what a round trip must keep of one package. OwnedBy and
// the edges name packages by Key, since a format may rename IDs.
type Summary struct {
	Ecosystem, Name, Version, PURL string
	Layer                          string
	LayerIndex                     int
	Paths, Licenses, CPEs          []string
	SourceName, SourceVersion      string
	Arch, Scope                    string
	Distro                         string
	OwnedBy                        string
	Metadata                       map[string]string
}

// Summarise lists the packages of d and its owns/depends-on edges by key.
func Summarise(d *sbom.Document) ([]Summary, []string) {
	key := map[string]string{}
	for i := range d.Packages {
		p := &d.Packages[i]
		key[p.ID] = p.Ecosystem + "/" + p.Name + "@" + p.Version
	}
	var out []Summary
	for i := range d.Packages {
		p := &d.Packages[i]
		s := Summary{Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, PURL: p.PURL,
			Layer: p.Layer, LayerIndex: p.LayerIndex, Paths: p.Paths, Licenses: p.Licenses, CPEs: p.CPEs,
			SourceName: p.SourceName, SourceVersion: p.SourceVersion, Arch: p.Arch, Scope: p.Scope,
			OwnedBy: key[p.OwnedBy], Metadata: p.Metadata}
		if p.Distro != nil {
			s.Distro = p.Distro.ID + " " + p.Distro.Version
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Ecosystem+out[i].Name+out[i].Version < out[j].Ecosystem+out[j].Name+out[j].Version
	})
	var edges []string
	for _, r := range d.Relationships {
		if r.Type == sbom.RelContains {
			continue
		}
		edges = append(edges, key[r.From]+" "+r.Type+" "+key[r.To])
	}
	sort.Strings(edges)
	return out, edges
}

// SameDocument fails t unless got keeps want's packages, edges, distro and
// image.
func SameDocument(t *testing.T, want, got *sbom.Document) {
	t.Helper()
	ws, we := Summarise(want)
	gs, ge := Summarise(got)
	if !reflect.DeepEqual(ws, gs) {
		t.Errorf("packages differ:\n%s", diff(ws, gs))
	}
	if !reflect.DeepEqual(we, ge) {
		t.Errorf("relationships differ:\nwant %q\ngot  %q", we, ge)
	}
	if !reflect.DeepEqual(want.Distro, got.Distro) {
		t.Errorf("distro: want %+v, got %+v", want.Distro, got.Distro)
	}
	if !reflect.DeepEqual(want.Image, got.Image) {
		t.Errorf("image: want %+v, got %+v", want.Image, got.Image)
	}
	if got.Target != want.Target {
		t.Errorf("target: want %q, got %q", want.Target, got.Target)
	}
}

func diff(want, got []Summary) string {
	var b strings.Builder
	n := max(len(want), len(got))
	for i := 0; i < n; i++ {
		var w, g []byte
		if i < len(want) {
			w, _ = json.Marshal(want[i])
		}
		if i < len(got) {
			g, _ = json.Marshal(got[i])
		}
		if !bytes.Equal(w, g) {
			fmt.Fprintf(&b, "- %s\n+ %s\n", w, g)
		}
	}
	return b.String()
}

// Schema compiles one of the official schemas in ../shared/testdata/schemas.
// The CycloneDX schemas' references to spdx.schema.json and
// jsf-0.82.schema.json resolve to the copies that sit beside them.
func Schema(t testing.TB, file string) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join(analyzetest.SharedDir(t), "testdata", "schemas")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	add := func(url, name string) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("schema: %v", err)
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
	}
	add("http://cyclonedx.org/schema/spdx.schema.json", "cyclonedx-spdx.schema.json")
	add("http://cyclonedx.org/schema/jsf-0.82.schema.json", "cyclonedx-jsf-0.82.schema.json")
	url := "http://cyclonedx.org/schema/" + strings.TrimPrefix(file, "cyclonedx-")
	if !strings.HasPrefix(file, "cyclonedx-") {
		url = "https://stella.test/schemas/" + file
	}
	add(url, file)
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", file, err)
	}
	return s
}

// Validate fails t unless the JSON b satisfies s.
func Validate(t testing.TB, s *jsonschema.Schema, b []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("output does not satisfy the schema:\n%v", err)
	}
}

// Golden compares got with testdata/<name>, or rewrites the file when
// update is set.
func Golden(t *testing.T, update bool, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", path, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
