package sbomfile

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/native"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
	"github.com/stella-scan/stella/internal/sbom/spdx"
)

// update is here so that go test ./... -update runs this package too; it
// has no golden files.
var _ = flag.Bool("update", false, "rewrite golden files (none here)")

func TestDetectAndDecodeStellaOutput(t *testing.T) {
	want := sbomtest.Document()
	enc := map[string]func(*bytes.Buffer) error{
		CycloneDXJSON: func(b *bytes.Buffer) error { return cyclonedx.Encode(b, want, "1.6") },
		SPDXJSON:      func(b *bytes.Buffer) error { return spdx.Encode(b, want, spdx.Options{}) },
		StellaJSON:    func(b *bytes.Buffer) error { return native.Encode(b, want) },
	}
	for format, f := range enc {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := f(&b); err != nil {
				t.Fatal(err)
			}
			if got, err := Detect(b.Bytes()); got != format || err != nil {
				t.Fatalf("Detect = %q, %v; want %q", got, err, format)
			}
			got, err := Decode(&b, "x.json")
			if err != nil {
				t.Fatal(err)
			}
			sbomtest.SameDocument(t, want, got)
			if got.Source != "sbom-file" {
				t.Errorf("source %q", got.Source)
			}
		})
	}
}

func TestDetectThirdParty(t *testing.T) {
	for _, tc := range []struct{ dir, file, format string }{
		{"cyclonedx", "syft-1.4.xml", CycloneDXXML},
		{"cyclonedx", "cern-vdm-editor.xml", CycloneDXXML},
		{"cyclonedx", "syft-1.6.json", CycloneDXJSON},
		{"spdx", "syft-2.2.spdx", SPDXTagValue},
		{"spdx", "syft-2.3.spdx.json", SPDXJSON},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", tc.dir, "testdata", "thirdparty", tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := Detect(b); got != tc.format || err != nil {
				t.Errorf("Detect = %q, %v; want %q", got, err, tc.format)
			}
			d, err := DecodeBytes(b, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Packages) == 0 {
				t.Error("no packages")
			}
		})
	}
}

func TestDetectByteOrderMarkAndComments(t *testing.T) {
	if f, err := Detect([]byte("\xEF\xBB\xBF  {\"bomFormat\":\"CycloneDX\"}")); f != CycloneDXJSON || err != nil {
		t.Errorf("BOM-prefixed JSON: %q %v", f, err)
	}
	if f, err := Detect([]byte("# written by hand\n\nSPDXVersion: SPDX-2.2\n")); f != SPDXTagValue || err != nil {
		t.Errorf("tag-value after a comment: %q %v", f, err)
	}
}

func TestErrorsNameTheFile(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"text", "hello\n", "not a recognised SBOM"},
		{"other json", `{"apiVersion":"v1"}`, "not a recognised SBOM"},
		{"broken json", `{"bomFormat":`, "invalid JSON"},
		{"spdx 3", `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`, "SPDX 3"},
		{"spdx rdf", `<rdf:RDF xmlns:spdx="http://spdx.org/rdf/terms#"></rdf:RDF>`, "RDF/XML is not supported"},
		{"other xml", `<html></html>`, "not a recognised SBOM"},
		{"broken cyclonedx", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":{}}`, "cyclonedx JSON"},
		{"broken spdx", "SPDXVersion: SPDX-2.3\nPackageName\n", "spdx tag-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in), "input/"+tc.name+".sbom")
			if err == nil || !strings.HasPrefix(err.Error(), "sbom input/"+tc.name+".sbom: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	var b bytes.Buffer
	if err := native.Encode(&b, sbomtest.Document()); err != nil {
		t.Fatal(err)
	}
	n := int64(b.Len())
	if _, err := DecodeLimit(bytes.NewReader(b.Bytes()), "big.json", n-1); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big.json") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := DecodeLimit(bytes.NewReader(b.Bytes()), "fits.json", n); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	// The limit stops reading: an endless input ends in an error, not OOM.
	if _, err := DecodeLimit(endless{}, "endless", 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless input: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func FuzzDecode(f *testing.F) {
	for _, glob := range []string{"../cyclonedx/testdata/thirdparty/syft-*", "../spdx/testdata/thirdparty/syft-*"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"schema":"stella-sbom/1","packages":[{"id":"a","ownedBy":"a"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := DecodeBytes(in, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sbom fuzz: ") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if d == nil {
			t.Fatal("no document and no error")
		}
	})
}
