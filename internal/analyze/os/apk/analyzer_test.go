package apk

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want")

// TestParseGolden: four records taken verbatim from the alpine-3.14-apk
// fixture; the .want file lists every field the parser fills.
func TestParseGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/installed-3.14-excerpt")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseInstalled(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", p.Name, p.Version, p.Arch, p.SourceName, p.SourceVersion, p.Licenses, p.PURL)
		fmt.Fprintf(&b, "  maintainer=%s\n", p.Metadata["maintainer"])
		for _, f := range p.Files {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	golden(t, "testdata/installed-3.14-excerpt.want", b.String())
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s--- got\n%s", file, want, got)
	}
}

func TestLicenses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"MIT", "[MIT]"},
		{"MIT BSD GPL2+", "[MIT BSD-3-Clause GPL2+]"},
		{"ISC AND (BSD-3-Clause OR MIT)", "[ISC AND (BSD-3-Clause OR MIT)]"},
		{"GPL-2.0-or-later LGPL-2.1-or-later", "[GPL-2.0-or-later LGPL-2.1-or-later]"},
		{"MIT ICU Unicode-TOU", "[MIT ICU Unicode-TOU]"},
		{"", "[]"},
	} {
		if got := fmt.Sprint(licenses(tc.in)); got != tc.want {
			t.Errorf("licenses(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHostile(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"not a field line", "P:x\nV:1\nthis is garbage\n"},
		{"missing version", "P:x\nA:x86_64\n\n"},
		{"huge line", "P:" + strings.Repeat("a", 1<<20) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: dbPath, Content: strings.NewReader(tc.in)})
			if err == nil || !strings.Contains(err.Error(), dbPath) {
				t.Fatalf("error %v does not name %s", err, dbPath)
			}
		})
	}
	// R: before any F: is a file in the root; "../" cannot climb out.
	pkgs, err := ParseInstalled(strings.NewReader("P:x\nV:1\nR:top\nF:../../etc\nR:passwd\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pkgs[0].Files, ","); got != "top,etc/passwd" {
		t.Errorf("files %s", got)
	}
}

func FuzzParseInstalled(f *testing.F) {
	for _, p := range []string{"testdata/installed-3.14-excerpt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := ParseInstalled(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("incomplete %+v", p)
			}
			for _, f := range p.Files {
				if f == "" || strings.HasPrefix(f, "/") || f == ".." || strings.HasPrefix(f, "../") {
					t.Fatalf("bad file %q", f)
				}
			}
		}
	})
}
