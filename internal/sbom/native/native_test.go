package native

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/sbom/sbomtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, sbomtest.Document()); err != nil {
		t.Fatal(err)
	}
	sbomtest.Golden(t, *update, "image.stella.json", b.Bytes())
}

func TestRoundTrip(t *testing.T) {
	want := sbomtest.Document()
	var b bytes.Buffer
	if err := Encode(&b, want); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "{\n  \"schema\": \""+Schema+"\"") {
		t.Errorf("output does not open with the schema: %.60s", b.String())
	}
	got, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	sbomtest.SameDocument(t, want, got)
	if got.Created != want.Created || got.Source != want.Source {
		t.Errorf("created/source: %q %q", got.Created, got.Source)
	}
}

func TestDecodeErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":               "stella json",
		"{":              "stella json",
		`{"target":"x"}`: "not a Stella SBOM",
		`{"schema":"stella-sbom/2","packages":[]}`: "not supported",
		`{"schema":"stella-sbom/1","packages":7}`:  "stella json",
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", in, err, want)
		}
	}
	d, err := Decode(strings.NewReader(`{"schema":"stella-sbom/1.1","target":"x"}`))
	if err != nil || d.Packages == nil {
		t.Errorf("a newer minor version must decode: %v", err)
	}
}
