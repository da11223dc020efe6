package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

// lineAnalyzer wants files named "pkgs" and reports one package per line
// "name version".
type lineAnalyzer struct{}

func (lineAnalyzer) Name() string { return "lines" }
func (lineAnalyzer) Version() int { return 1 }
func (lineAnalyzer) Wants(p string, _ fs.FileInfo) bool {
	return strings.HasSuffix(p, "/pkgs") || p == "pkgs"
}
func (lineAnalyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	b, err := io.ReadAll(f.Content)
	if err != nil {
		return nil, err
	}
	var r analyze.Result
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		n, v, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		r.Packages = append(r.Packages, sbom.Package{Name: n, Version: v, Ecosystem: "test", Paths: []string{f.Path}})
	}
	return &r, nil
}

type entry struct {
	name, body, link string
	typ              byte
}

func mkTar(t testing.TB, es ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func walk(t *testing.T, i int, b []byte) *Result {
	t.Helper()
	r, err := Walk(context.Background(), Blob{R: bytes.NewReader(b)}, i, "sha256:l"+string(rune('0'+i)), []analyze.Analyzer{lineAnalyzer{}}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func names(m *Merged) map[string]int {
	out := map[string]int{}
	for _, p := range m.Packages {
		out[p.Name+"@"+p.Version+":"+p.Paths[0]] = p.LayerIndex
	}
	return out
}

// Whiteouts, opaque directories, rewrites and layer attribution.
func TestMerge(t *testing.T) {
	l1 := walk(t, 1, mkTar(t,
		entry{name: "db/", typ: tar.TypeDir},
		entry{name: "db/pkgs", body: "a 1\nb 1\n"},
		entry{name: "app/old/pkgs", body: "old 1\n"},
		entry{name: "app/mods/x/pkgs", body: "x 1\n"},
		entry{name: "gone/pkgs", body: "g 1\n"},
	))
	l2 := walk(t, 2, mkTar(t,
		entry{name: "db/pkgs", body: "a 1\nb 2\nc 1\n"}, // b upgraded, c new, a carried
		entry{name: "app/mods/.wh..wh..opq"},
		entry{name: "app/mods/y/pkgs", body: "y 1\n"},
		entry{name: "gone/.wh.pkgs"},
	))
	l3 := walk(t, 3, mkTar(t,
		entry{name: "app/.wh.old"},
		entry{name: "db/pkgs", body: "a 1\nb 2\nc 1\n"},
	))
	got := names(Merge([]*Result{l1, l2, l3}))
	want := map[string]int{"a@1:db/pkgs": 1, "b@2:db/pkgs": 2, "c@1:db/pkgs": 2, "y@1:app/mods/y/pkgs": 2}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: layer %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func TestResolve(t *testing.T) {
	l1 := walk(t, 1, mkTar(t,
		entry{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
		entry{name: "usr/bin/x", typ: tar.TypeSymlink, link: "/opt/x"},
		entry{name: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
	))
	m := Merge([]*Result{l1})
	for in, want := range map[string]string{
		"lib/x86_64-linux-gnu/libc.so.6": "usr/lib/x86_64-linux-gnu/libc.so.6",
		"usr/bin/x/y":                    "opt/x/y",
		"usr/share/doc":                  "usr/share/doc",
	} {
		if got := m.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostile(t *testing.T) {
	cases := []struct {
		name string
		tar  []byte
		want error
	}{
		{"traversal", mkTar(t, entry{name: "a/../../x", body: "1"}), ErrTraversal},
		{"through-link", mkTar(t, entry{name: "l", typ: tar.TypeSymlink, link: "/"}, entry{name: "l/etc/x", body: "1"}), ErrThroughLink},
		{"hardlink-out", mkTar(t, entry{name: "x", typ: tar.TypeLink, link: "../../etc/shadow"}), ErrLinkEscape},
		{"hardlink-later", mkTar(t, entry{name: "x", typ: tar.TypeLink, link: "y"}, entry{name: "y", body: "1"}), ErrLinkEscape},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Walk(context.Background(), Blob{R: bytes.NewReader(c.tar)}, 1, "", nil, Limits{})
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Entry == "" {
				t.Errorf("error does not name the entry: %v", err)
			}
		})
	}
	t.Run("hardlink-inside", func(t *testing.T) {
		r, err := Walk(context.Background(), Blob{R: bytes.NewReader(mkTar(t, entry{name: "a/pkgs", body: "p 1\n"}, entry{name: "b/pkgs", typ: tar.TypeLink, link: "a/pkgs"}))}, 1, "", []analyze.Analyzer{lineAnalyzer{}}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if fr := r.Files["b/pkgs"]; fr == nil || fr.Packages[0].Paths[0] != "b/pkgs" {
			t.Errorf("hard link did not carry the package: %+v", r.Files)
		}
	})
	t.Run("entries-limit", func(t *testing.T) {
		_, err := Walk(context.Background(), Blob{R: bytes.NewReader(mkTar(t, entry{name: "a"}, entry{name: "b"}, entry{name: "c"}))}, 1, "", nil, Limits{MaxEntries: 2})
		var le *LimitError
		if !errors.As(err, &le) {
			t.Fatalf("want a limit error, got %v", err)
		}
	})
}

// FuzzWalk: any byte string is a layer that walks to a result or an
// error, never a panic or a hang.
func FuzzWalk(f *testing.F) {
	f.Add(mkTar(f, entry{name: "db/pkgs", body: "a 1\n"}, entry{name: "x/.wh.y"}))
	f.Add(mkTar(f, entry{name: "l", typ: tar.TypeSymlink, link: "../.."}, entry{name: "h", typ: tar.TypeLink, link: "db/pkgs"}))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Walk(context.Background(), Blob{R: bytes.NewReader(b)}, 1, "", []analyze.Analyzer{lineAnalyzer{}}, Limits{MaxLayerSize: 1 << 20, MaxFileSize: 1 << 20})
		if err == nil {
			Merge([]*Result{r})
		}
	})
}
