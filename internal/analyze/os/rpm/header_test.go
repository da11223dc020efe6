package rpm

import (
	"encoding/binary"
	"strings"
	"testing"
)

// hdrEntry is one tag for buildHeader.
type hdrEntry struct {
	tag, typ uint32
	value    any // string, []string, []int32
}

// buildHeader encodes an rpm header blob (il, dl, index, data) the way
// rpm stores it in its database, without a region tag.
func buildHeader(entries ...hdrEntry) []byte {
	var index, data []byte
	for _, e := range entries {
		var count int
		if e.typ == typeInt32 {
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
		}
		off := len(data)
		switch v := e.value.(type) {
		case string:
			data = append(append(data, v...), 0)
			count = 1
		case []string:
			for _, s := range v {
				data = append(append(data, s...), 0)
			}
			count = len(v)
		case []int32:
			for _, n := range v {
				data = binary.BigEndian.AppendUint32(data, uint32(n))
			}
			count = len(v)
		}
		index = binary.BigEndian.AppendUint32(index, e.tag)
		index = binary.BigEndian.AppendUint32(index, e.typ)
		index = binary.BigEndian.AppendUint32(index, uint32(off))
		index = binary.BigEndian.AppendUint32(index, uint32(count))
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(entries)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(append(b, index...), data...)
}

func nevra(name string, epoch int32, extra ...hdrEntry) []byte {
	e := []hdrEntry{
		{tagName, typeString, name},
		{tagVersion, typeString, "1.0"},
		{tagRelease, typeString, "3.el9"},
		{tagArch, typeString, "x86_64"},
		{tagSourceRPM, typeString, name + "-src-1.0-3.el9.src.rpm"},
		{tagLicense, typeString, "MIT"},
	}
	if epoch >= 0 {
		e = append(e, hdrEntry{tagEpoch, typeInt32, []int32{epoch}})
	}
	return buildHeader(append(e, extra...)...)
}

func TestParseHeaders(t *testing.T) {
	files := []hdrEntry{
		{tagDirnames, typeStringArray, []string{"/usr/bin/", "/etc/"}},
		{tagBasenames, typeStringArray, []string{"tool", "tool.conf", "other"}},
		{tagDirIndexes, typeInt32, []int32{0, 1, 0}},
	}
	pkgs, err := ParseHeaders([][]byte{
		nevra("zero-epoch", 0),
		nevra("no-epoch", -1),
		nevra("with-epoch", 2, files...),
		nevra("gpg-pubkey", -1),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, strings.Join([]string{p.Name, p.Version, p.Arch, p.SourceName, p.SourceVersion, strings.Join(p.Licenses, "|"), strings.Join(p.Files, ","), p.PURL}, " "))
	}
	want := []string{
		"zero-epoch 1.0-3.el9 x86_64 zero-epoch-src 1.0-3.el9 MIT  pkg:rpm/zero-epoch@1.0-3.el9?arch=x86_64",
		"no-epoch 1.0-3.el9 x86_64 no-epoch-src 1.0-3.el9 MIT  pkg:rpm/no-epoch@1.0-3.el9?arch=x86_64",
		"with-epoch 2:1.0-3.el9 x86_64 with-epoch-src 2:1.0-3.el9 MIT usr/bin/tool,etc/tool.conf,usr/bin/other pkg:rpm/with-epoch@2:1.0-3.el9?arch=x86_64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSplitSourceRPM(t *testing.T) {
	for _, tc := range []struct{ in, n, v, r string }{
		{"glibc-2.28-151.el8.src.rpm", "glibc", "2.28", "151.el8"},
		{"python3-pip-21.3.1-1.fc36.nosrc.rpm", "python3-pip", "21.3.1", "1.fc36"},
		{"a-b-c-1-2.src.rpm", "a-b-c", "1", "2"},
	} {
		n, v, r, ok := splitSourceRPM(tc.in)
		if !ok || n != tc.n || v != tc.v || r != tc.r {
			t.Errorf("splitSourceRPM(%q) = %q %q %q %v", tc.in, n, v, r, ok)
		}
	}
	for _, bad := range []string{"", "nodash.src.rpm", "one-dash.src.rpm", "-1-2.src.rpm"} {
		if _, _, _, ok := splitSourceRPM(bad); ok {
			t.Errorf("splitSourceRPM(%q) accepted", bad)
		}
	}
}

// TestHostileHeaders: every bad length, count and offset is an error,
// never a panic or a large allocation.
func TestHostileHeaders(t *testing.T) {
	good := nevra("x", 0)
	set := func(b []byte, off int, v uint32) []byte {
		c := append([]byte(nil), b...)
		binary.BigEndian.PutUint32(c[off:], v)
		return c
	}
	hugeArray := buildHeader(hdrEntry{tagName, typeString, "x"}, hdrEntry{tagVersion, typeString, "1"},
		hdrEntry{tagBasenames, typeStringArray, []string{"a"}})
	hugeArray = set(hugeArray, 8+2*16+12, 0xffffffff) // basenames count
	badIndex := buildHeader(hdrEntry{tagName, typeString, "x"}, hdrEntry{tagVersion, typeString, "1"},
		hdrEntry{tagDirnames, typeStringArray, []string{"/"}},
		hdrEntry{tagBasenames, typeStringArray, []string{"a"}},
		hdrEntry{tagDirIndexes, typeInt32, []int32{7}})
	for name, b := range map[string][]byte{
		"empty":              {},
		"zero entries":       set(good, 0, 0),
		"too many entries":   set(good, 0, 0x10000),
		"huge data length":   set(good, 4, 0x7fffffff),
		"short blob":         good[:len(good)-4],
		"offset past data":   set(good, 8+8, 0xffff),      // NAME offset
		"wrong type":         set(good, 8+4, typeInt32),   // NAME type
		"epoch past data":    set(good, 8+6*16+12, 1<<20), // EPOCH count
		"string array count": hugeArray,
		"dir index range":    badIndex,
	} {
		if _, err := ParseHeaders([][]byte{b}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
