package cyclonedx

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func encode(t *testing.T, d *sbom.Document, spec string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeWith(&b, d, Options{SpecVersion: spec, ToolVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEncodeValidatesAgainstOfficialSchema(t *testing.T) {
	for _, tc := range []struct{ spec, schema, golden string }{
		{"1.6", "cyclonedx-bom-1.6.schema.json", "image.cdx.json"},
		{"1.5", "cyclonedx-bom-1.5.schema.json", "image.cdx-1.5.json"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			out := encode(t, sbomtest.Document(), tc.spec)
			sbomtest.Validate(t, sbomtest.Schema(t, tc.schema), out)
			sbomtest.Golden(t, *update, tc.golden, out)
		})
	}
}

func TestEncodeIsDeterministicAndLeavesInputAlone(t *testing.T) {
	d := sbomtest.Document()
	first := d.Packages[0].Name
	a, b := encode(t, d, ""), encode(t, d, "")
	if !bytes.Equal(a, b) {
		t.Error("two encodings of one document differ")
	}
	if d.Packages[0].Name != first {
		t.Error("Encode reordered the caller's packages")
	}
	if !bytes.Contains(a, []byte(`"specVersion": "1.6"`)) {
		t.Error("default spec version is not 1.6")
	}
}

func TestEncodeFields(t *testing.T) {
	bom, err := BOM(sbomtest.Document(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		byRef[c.BOMRef] = c
	}
	if c := byRef["os:debian@12"]; c.Type != cdx.ComponentTypeOS {
		t.Errorf("distro component: %+v", c)
	}
	if c := byRef["go-app"]; c.Type != cdx.ComponentTypeApplication {
		t.Errorf("Go main module type %q, want application", c.Type)
	}
	if c := byRef["go-toml"]; c.Type != cdx.ComponentTypeLibrary {
		t.Errorf("Go dependency type %q, want library", c.Type)
	}
	m := bom.Metadata.Component
	if m.Type != cdx.ComponentTypeContainer || !strings.HasPrefix(m.Version, "sha256:") {
		t.Errorf("metadata.component: %+v", m)
	}
	log4j := byRef["maven-log4j-core"]
	if log4j.CPE != "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*" || prop(log4j, "stella:cpe") != "cpe:2.3:a:apache:log4j-core:2.14.1:*:*:*:*:*:*:*" {
		t.Errorf("CPEs: first %q, property %q", log4j.CPE, prop(log4j, "stella:cpe"))
	}
	if l := (*log4j.Licenses)[0]; l.License == nil || l.License.Name != "Apache License, Version 2.0" {
		t.Errorf("free-text licence: %+v", l)
	}
	if l := (*byRef["go-xnet"].Licenses)[0]; l.Expression != "BSD-3-Clause OR MIT" {
		t.Errorf("expression licence: %+v", l)
	}
	if l := (*byRef["deb-libc6"].Licenses)[1]; l.License == nil || l.License.ID != "LGPL-2.1-or-later" {
		t.Errorf("SPDX id licence: %+v", l)
	}
	yaml := byRef["pypi-pyyaml"]
	if prop(yaml, "stella:ownedBy") != "deb-python3-yaml" || prop(yaml, "stella:layer:index") != "2" ||
		!strings.HasPrefix(prop(yaml, "stella:layer:diffID"), "sha256:") || prop(yaml, "stella:path") == "" {
		t.Errorf("PyYAML properties: %+v", *yaml.Properties)
	}
	if c := byRef["deb-libc6"]; prop(c, "stella:sourceName") != "glibc" || prop(c, "stella:sourceVersion") != "2.36-9+deb12u4" {
		t.Errorf("libc6 source properties: %+v", *c.Properties)
	}
	deps := map[string][]string{}
	for _, d := range *bom.Dependencies {
		deps[d.Ref] = *d.Dependencies
	}
	if got := deps["deb-python3-yaml"]; len(got) != 1 || got[0] != "pypi-pyyaml" {
		t.Errorf("owner's dependencies: %q", got)
	}
	if got := deps["npm-babel-core"]; len(got) != 1 || got[0] != "npm-lodash" {
		t.Errorf("depends-on: %q", got)
	}
}

func prop(c cdx.Component, name string) string {
	if c.Properties == nil {
		return ""
	}
	for _, p := range *c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format cdx.BOMFileFormat
		spec   cdx.SpecVersion
	}{
		{"json-1.6", cdx.BOMFileFormatJSON, cdx.SpecVersion1_6},
		{"json-1.5", cdx.BOMFileFormatJSON, cdx.SpecVersion1_5},
		{"json-1.4", cdx.BOMFileFormatJSON, cdx.SpecVersion1_4},
		{"xml-1.6", cdx.BOMFileFormatXML, cdx.SpecVersion1_6},
		{"xml-1.5", cdx.BOMFileFormatXML, cdx.SpecVersion1_5},
		{"xml-1.4", cdx.BOMFileFormatXML, cdx.SpecVersion1_4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sbomtest.Document()
			bom, err := BOM(want, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := cdx.NewBOMEncoder(&b, tc.format).EncodeVersion(bom, tc.spec); err != nil {
				t.Fatal(err)
			}
			got, err := Decode(&b)
			if err != nil {
				t.Fatal(err)
			}
			sbomtest.SameDocument(t, want, got)
			if got.Created != want.Created {
				t.Errorf("created %q, want %q", got.Created, want.Created)
			}
		})
	}
}

func TestDecodeThirdParty(t *testing.T) {
	for _, tc := range []struct {
		file  string
		count int
		// one package that must be there: ecosystem, name, version
		eco, name, version string
	}{
		{"syft-1.4.xml", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-1.5.xml", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-1.6.xml", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-1.4.json", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-1.6.json", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		// package-1's purl ("a-purl-1") is not a purl: kept without ecosystem.
		{"syft-image.xml", 2, "deb", "package-2", "2.0.1"},
		{"syft-image.json", 2, "deb", "package-2", "2.0.1"},
		{"cern-vdm-editor.xml", 43, "npm", "puppeteer", "1.19.0"},
		{"laravel-1.4.xml", 62, "composer", "laravel/framework", "v7.30.6"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "thirdparty", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d, err := Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if tc.count > 0 && len(d.Packages) != tc.count {
				t.Errorf("%d packages, want %d: %+v", len(d.Packages), tc.count, d.Packages)
			}
			if len(d.Packages) == 0 {
				t.Fatal("no packages")
			}
			found := false
			for _, p := range d.Packages {
				if p.Ecosystem == tc.eco && p.Name == tc.name && p.Version == tc.version {
					found = true
				}
				if p.ID == "" || p.Name == "" {
					t.Errorf("package without id or name: %+v", p)
				}
			}
			if !found {
				t.Errorf("%s/%s@%s not found", tc.eco, tc.name, tc.version)
			}
		})
	}
}

func TestDecodeThirdPartyImage(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "thirdparty", "syft-image.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if d.Image == nil || d.Image.Name != "user-image-input" {
		t.Errorf("image: %+v", d.Image)
	}
	if d.Distro == nil || d.Distro.ID != "debian" || d.Distro.Version != "1.2.3" {
		t.Errorf("distro: %+v", d.Distro)
	}
	for _, p := range d.Packages {
		switch p.Name {
		case "package-1":
			if p.Ecosystem != "" || p.PURL != "a-purl-1" || len(p.Licenses) != 1 || p.Licenses[0] != "MIT" {
				t.Errorf("package-1: %+v", p)
			}
		case "package-2":
			if p.Distro != d.Distro || len(p.CPEs) != 1 {
				t.Errorf("package-2: %+v", p)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty document"},
		{"spaces", "  \n\t", "empty document"},
		{"not json", "{not json", "cyclonedx JSON"},
		{"json array", "[1,2]", "cyclonedx JSON"},
		{"spdx json", `{"spdxVersion":"SPDX-2.3"}`, `bomFormat is ""`},
		{"bad spec version", `{"bomFormat":"CycloneDX","specVersion":"9.9"}`, "cyclonedx JSON"},
		{"xml other root", `<foo/>`, "cyclonedx XML"},
		{"xml other namespace", `<bom xmlns="http://example.com/bom"/>`, "not a CycloneDX BOM namespace"},
		{"truncated xml", `<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components><component`, "cyclonedx XML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeCycloneDX(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "thirdparty", "syft-*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var b bytes.Buffer
	if err := Encode(&b, sbomtest.Document(), ""); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><purl>pkg:npm/%40a/b@1</purl></component></components></bom>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := Decode(bytes.NewReader(in))
		if err == nil && d == nil {
			t.Fatal("no document and no error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func TestBOMRefsAreUnique(t *testing.T) {
	d := &sbom.Document{Target: "dir:/src", Distro: &sbom.Distro{ID: "alpine", Version: "3.19.0"}, Packages: []sbom.Package{
		{ID: "root", Name: "a", Version: "1", Ecosystem: sbom.NPM},
		{ID: "os:alpine@3.19.0", Name: "b", Version: "1", Ecosystem: sbom.NPM},
		{ID: "dup", Name: "c", Version: "1", Ecosystem: sbom.NPM},
		{ID: "dup", Name: "d", Version: "1", Ecosystem: sbom.NPM},
		{Name: "e", Version: "1", Ecosystem: sbom.NPM},
		{Name: "e", Version: "1", Ecosystem: sbom.NPM},
	}}
	bom, err := BOM(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{bom.Metadata.Component.BOMRef: true}
	for _, c := range *bom.Components {
		if seen[c.BOMRef] || c.BOMRef == "" {
			t.Errorf("bom-ref %q used twice", c.BOMRef)
		}
		seen[c.BOMRef] = true
	}
	var b bytes.Buffer
	if err := Encode(&b, d, ""); err != nil {
		t.Fatal(err)
	}
	sbomtest.Validate(t, sbomtest.Schema(t, "cyclonedx-bom-1.6.schema.json"), b.Bytes())
	got, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Packages) != len(d.Packages) || got.Target != "dir:/src" || got.Image != nil {
		t.Errorf("decoded %d packages, target %q, image %+v", len(got.Packages), got.Target, got.Image)
	}
}

func TestDecodeNestedComponents(t *testing.T) {
	in := `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
	  {"type":"application","name":"app","bom-ref":"app","purl":"pkg:maven/com.example/app@1.0",
	   "components":[{"type":"library","group":"org.yaml","name":"snakeyaml","version":"1.33","bom-ref":"sy","purl":"pkg:maven/org.yaml/snakeyaml@1.33"}]},
	  {"type":"file","name":"/etc/passwd"},
	  {"type":"library","name":"no-purl","version":"2"}],
	  "dependencies":[{"ref":"app","dependsOn":["sy","missing"]}]}`
	d, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range d.Packages {
		names = append(names, p.Ecosystem+"/"+p.Name+"@"+p.Version)
	}
	if strings.Join(names, " ") != "/no-purl@2 maven/com.example:app@1.0 maven/org.yaml:snakeyaml@1.33" {
		t.Errorf("packages %q", names)
	}
	if len(d.Relationships) != 1 || d.Relationships[0] != (sbom.Relationship{From: "app", To: "sy", Type: sbom.RelDependsOn}) {
		t.Errorf("relationships %+v", d.Relationships)
	}
}
