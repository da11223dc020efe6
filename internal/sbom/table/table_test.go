package table

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, sbomtest.Document()); err != nil {
		t.Fatal(err)
	}
	sbomtest.Golden(t, *update, "image.txt", b.Bytes())
}

func TestHostileNamesStayOnOneLine(t *testing.T) {
	d := &sbom.Document{Packages: []sbom.Package{{Name: "evil\n\x1b[31mred\tname", Version: "1"}}}
	var b bytes.Buffer
	if err := Encode(&b, d); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 2 || strings.ContainsRune(b.String(), 0x1b) {
		t.Errorf("table:\n%q", b.String())
	}
}
