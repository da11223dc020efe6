package spdx

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdx/tools-golang/tagvalue"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func encode(t *testing.T, d *sbom.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, d, Options{ToolVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEncodeValidatesAgainstOfficialSchema(t *testing.T) {
	out := encode(t, sbomtest.Document())
	sbomtest.Validate(t, sbomtest.Schema(t, "spdx-2.3.schema.json"), out)
	sbomtest.Golden(t, *update, "image.spdx.json", out)
}

func TestEncodeIsReproducible(t *testing.T) {
	d := sbomtest.Document()
	a, b := encode(t, d), encode(t, d)
	if !bytes.Equal(a, b) {
		t.Error("two encodings of one document differ")
	}
	// A different document gets a different namespace.
	d2 := sbomtest.Document()
	d2.Packages = d2.Packages[1:]
	n1, _ := Document(d, Options{})
	n2, _ := Document(d2, Options{})
	if n1.DocumentNamespace == n2.DocumentNamespace || !strings.HasPrefix(n1.DocumentNamespace, NamespaceBase) {
		t.Errorf("namespaces %q and %q", n1.DocumentNamespace, n2.DocumentNamespace)
	}
	// Created: the option wins over the document.
	opt := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	n3, _ := Document(d, Options{Created: opt})
	if n3.CreationInfo.Created != "2030-01-02T03:04:05Z" || n1.CreationInfo.Created != d.Created {
		t.Errorf("created %q / %q", n3.CreationInfo.Created, n1.CreationInfo.Created)
	}
}

func TestEncodeFields(t *testing.T) {
	d, err := Document(sbomtest.Document(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, p := range d.Packages {
		byID[string(p.PackageSPDXIdentifier)] = i
		for _, c := range string(p.PackageSPDXIdentifier) {
			if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				t.Errorf("SPDXID %q has %q", p.PackageSPDXIdentifier, c)
			}
		}
	}
	log4j := d.Packages[byID["Package-maven-log4j-core"]]
	if log4j.PackageLicenseDeclared != "LicenseRef-Apache-License-Version-2.0" || log4j.PackageLicenseConcluded != "NOASSERTION" || log4j.FilesAnalyzed {
		t.Errorf("log4j licences: %q / %q", log4j.PackageLicenseDeclared, log4j.PackageLicenseConcluded)
	}
	var refs []string
	for _, r := range log4j.PackageExternalReferences {
		refs = append(refs, r.Category+" "+r.RefType)
	}
	if strings.Join(refs, ",") != "PACKAGE-MANAGER purl,SECURITY cpe23Type,SECURITY cpe23Type" {
		t.Errorf("log4j external refs: %q", refs)
	}
	if libc := d.Packages[byID["Package-deb-libc6"]]; libc.PackageLicenseDeclared != "GPL-2.0-or-later AND LGPL-2.1-or-later" {
		t.Errorf("libc6 licence %q", libc.PackageLicenseDeclared)
	}
	if len(d.OtherLicenses) != 1 || d.OtherLicenses[0].ExtractedText != "Apache License, Version 2.0" {
		t.Errorf("extracted licences: %+v", d.OtherLicenses)
	}
	var rels []string
	for _, r := range d.Relationships {
		if r.RefA.ElementRefID != "Root" {
			rels = append(rels, string(r.RefA.ElementRefID)+" "+r.Relationship+" "+string(r.RefB.ElementRefID)+" "+r.RelationshipComment)
		}
	}
	want := []string{
		"DOCUMENT DESCRIBES Root ",
		"Package-deb-python3-yaml CONTAINS Package-pypi-pyyaml owns",
		"Package-go-app DEPENDS_ON Package-go-toml ",
		"Package-go-app DEPENDS_ON Package-go-xnet ",
		"Package-npm-babel-core DEPENDS_ON Package-npm-lodash ",
	}
	if strings.Join(rels, "\n") != strings.Join(want, "\n") {
		t.Errorf("relationships:\n%s\nwant:\n%s", strings.Join(rels, "\n"), strings.Join(want, "\n"))
	}
	if root := d.Packages[byID["Root"]]; root.PrimaryPackagePurpose != "CONTAINER" || !strings.HasPrefix(root.PackageVersion, "sha256:") {
		t.Errorf("root package: %+v", root)
	}
}

func TestSPDXIDsAreSanitisedAndUnique(t *testing.T) {
	got := spdxIDs([]string{"pkg:npm/%40a/b@1", "pkg:npm/@a/b@1", "a b", "a_b", ""})
	want := []string{"Package-pkg-npm-40a-b-1", "Package-pkg-npm-a-b-1", "Package-a-b", "Package-a-b-2", "Package-"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRoundTripJSON(t *testing.T) {
	want := sbomtest.Document()
	got, err := Decode(bytes.NewReader(encode(t, want)))
	if err != nil {
		t.Fatal(err)
	}
	sbomtest.SameDocument(t, want, got)
}

func TestRoundTripTagValue(t *testing.T) {
	want := sbomtest.Document()
	d, err := Document(want, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Tag-value keeps annotations at document level, each naming its
	// package; the library's writer takes them from there.
	for _, p := range d.Packages {
		for _, a := range p.Annotations {
			a.AnnotationSPDXIdentifier.ElementRefID = p.PackageSPDXIdentifier
			d.Annotations = append(d.Annotations, &a)
		}
		p.Annotations = nil
	}
	var b bytes.Buffer
	if err := tagvalue.Write(d, &b); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	sbomtest.SameDocument(t, want, got)
}

func TestDecodeThirdParty(t *testing.T) {
	for _, tc := range []struct {
		file               string
		count              int
		eco, name, version string
	}{
		{"syft-2.2.spdx", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-2.3.spdx", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-2.2.spdx.json", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-2.3.spdx.json", 1, "golang", "github.com/wagoodman/go-partybus", "v0.0.0-20230516145632-8ccac152c651"},
		{"syft-image.spdx", 2, "deb", "package-2", "2.0.1"},
		{"syft-image.spdx.json", 2, "deb", "package-2", "2.0.1"},
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
			if len(d.Packages) != tc.count {
				t.Errorf("%d packages, want %d: %+v", len(d.Packages), tc.count, d.Packages)
			}
			found := false
			for _, p := range d.Packages {
				if p.Ecosystem == tc.eco && p.Name == tc.name && p.Version == tc.version {
					found = true
					if len(p.CPEs) == 0 {
						t.Errorf("%s: CPEs not read", p.Name)
					}
				}
			}
			if !found {
				t.Errorf("%s/%s@%s not found in %+v", tc.eco, tc.name, tc.version, d.Packages)
			}
			if strings.HasPrefix(tc.file, "syft-image") {
				if d.Image == nil || d.Image.Name != "user-image-input" || !strings.HasPrefix(d.Image.Digest, "sha256:") {
					t.Errorf("image: %+v", d.Image)
				}
			}
		})
	}
}

func TestSplitLicenses(t *testing.T) {
	names := map[string]string{"LicenseRef-x": "The X Licence"}
	for in, want := range map[string]string{
		"MIT":                               "MIT",
		"MIT AND Apache-2.0":                "MIT|Apache-2.0",
		"(MIT OR Apache-2.0) AND GPL-2.0":   "MIT OR Apache-2.0|GPL-2.0",
		"(MIT AND BSD-3-Clause) OR GPL-2.0": "(MIT AND BSD-3-Clause) OR GPL-2.0",
		"LicenseRef-x AND MIT":              "The X Licence|MIT",
		"NOASSERTION":                       "",
		"((( AND":                           "((( AND",
	} {
		if got := strings.Join(splitLicenses(in, names), "|"); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty document"},
		{"json garbage", "{nope", "spdx JSON"},
		{"json without version", `{"name":"x"}`, "spdx JSON"},
		{"json unsupported version", `{"spdxVersion":"SPDX-9.9"}`, "spdx JSON"},
		{"cyclonedx", `{"bomFormat":"CycloneDX"}`, "spdx JSON"},
		{"tag-value garbage", "hello world", "spdx tag-value"},
		{"tag-value unknown version", "SPDXVersion: SPDX-7.0\n", "spdx tag-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeSPDX(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "thirdparty", "syft-*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var b bytes.Buffer
	if err := Encode(&b, sbomtest.Document(), Options{}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte("SPDXVersion: SPDX-2.3\nPackageName: x\nSPDXID: SPDXRef-x\nRelationship: SPDXRef-x CONTAINS SPDXRef-y\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := Decode(bytes.NewReader(in))
		if err == nil && d == nil {
			t.Fatal("no document and no error")
		}
	})
}
