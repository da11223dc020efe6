package dpkg

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/os/dpkg/control"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want")

func TestWants(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"var/lib/dpkg/status", true},
		{"var/lib/dpkg/status-old", false},
		{"var/lib/dpkg/status.d/libc6", true},
		{"var/lib/dpkg/status.d/libc6.md5sums", false},
		{"var/lib/dpkg/status.d/", false},
		{"var/lib/dpkg/status.d/sub/x", false},
		{"var/lib/dpkg/info/libc6:amd64.list", true},
		{"var/lib/dpkg/info/curl.list", true},
		{"var/lib/dpkg/info/curl.md5sums", false},
		{"var/lib/dpkg/info/sub/curl.list", false},
		{"usr/var/lib/dpkg/status", false},
	} {
		if got := (Analyzer{}).Wants(tc.path, nil); got != tc.want {
			t.Errorf("Wants(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestParseStatusGolden: stanza selection by Status, Source with and
// without a version, epochs kept, continuation lines.
func TestParseStatusGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/status-mixed")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseStatus(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range pkgs {
		b.WriteString(strings.Join([]string{p.Name, p.Version, p.Arch, p.SourceName, p.SourceVersion, p.PURL}, "\t") + "\n")
	}
	golden(t, "testdata/status-mixed.want", b.String())
	if pkgs[0].Metadata["maintainer"] == "" || pkgs[0].Metadata["essential"] != "yes" {
		t.Errorf("metadata of %s: %v", pkgs[0].Name, pkgs[0].Metadata)
	}
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

func TestSource(t *testing.T) {
	for _, tc := range []struct{ field, name, version, wantName, wantVersion string }{
		{"", "curl", "7.88.1-10", "curl", "7.88.1-10"},
		{"glibc", "libc6", "2.36-9", "glibc", "2.36-9"},
		{"util-linux (2.36.1-8)", "bsdutils", "1:2.36.1-8", "util-linux", "2.36.1-8"},
		{"gcc-12 (12.2.0-14)", "libgcc-s1", "12.2.0-14", "gcc-12", "12.2.0-14"},
		{"broken (", "x", "1", "broken", "1"},
		{"(1.0)", "x", "2", "x", "1.0"},
	} {
		n, v := source(tc.field, tc.name, tc.version)
		if n != tc.wantName || v != tc.wantVersion {
			t.Errorf("source(%q, %q, %q) = %q, %q; want %q, %q", tc.field, tc.name, tc.version, n, v, tc.wantName, tc.wantVersion)
		}
	}
}

func TestParseList(t *testing.T) {
	files, err := ParseList(strings.NewReader("/.\n/etc\n/etc/foo.conf\n/usr/lib/../lib/x.so\n\n//usr//bin/a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(files, ","), "etc,etc/foo.conf,usr/lib/x.so,usr/bin/a"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if PackageFromListPath("var/lib/dpkg/info/libc6:amd64.list") != "libc6" {
		t.Error("arch qualifier kept")
	}
}

// TestHostile: malformed and oversized input gives an error naming the
// file, never a panic or an unbounded allocation.
func TestHostile(t *testing.T) {
	huge := "Package: x\nVersion: 1\nDescription: " + strings.Repeat("a", 2<<20) + "\n"
	manyFields := "Package: x\nVersion: 1\n" + strings.Repeat("X-F: v\n", 1000)
	for _, tc := range []struct{ name, path, in string }{
		{"no colon", statusPath, "Package: x\nthis is not a field\n"},
		{"leading continuation", statusPath, " continuation\nPackage: x\n"},
		{"missing version", statusPath, "Package: x\nStatus: install ok installed\n"},
		{"space in name", statusPath, "Package: a b\nVersion: 1\n"},
		{"huge line", statusPath, huge},
		{"many fields", statusPath, manyFields},
		{"long list line", "var/lib/dpkg/info/x.list", "/" + strings.Repeat("a", 100<<10) + "\n"},
		{"nul in list", "var/lib/dpkg/info/x.list", "/a\x00b\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: tc.path, Content: strings.NewReader(tc.in)})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s", err, tc.path)
			}
		})
	}
	_, err := ParseStatus(strings.NewReader(huge))
	if !errors.Is(err, control.ErrLimit) {
		t.Errorf("huge line: %v, want ErrLimit", err)
	}
}
