package golang

import (
	"bytes"
	"testing"
	"testing/iotest"
)

// The streamed scan finds the inline build info wherever the chunk
// boundaries fall, and skips a decoy copy of the magic.
func TestScanBuildInfoSplit(t *testing.T) {
	mod := "\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6" +
		"path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.7\th1:abc=\n" +
		"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2"
	hdr := append([]byte{}, buildInfoMagic...)
	hdr = append(hdr, 8, 2)
	hdr = append(hdr, make([]byte, buildInfoHdr-len(hdr))...)
	vers := "go1.21.0"
	section := append(hdr, byte(len(vers)))
	section = append(section, vers...)
	var lb [10]byte
	n := putUvarint(lb[:], uint64(len(mod)))
	section = append(section, lb[:n]...)
	section = append(section, mod...)
	decoy := append(append([]byte{}, buildInfoMagic...), 0, 0) // invalid ptr size
	for _, pad := range []int{0, 1, 13, scanChunk - 20, scanChunk - 3, scanChunk + 5} {
		file := append(append(append(bytes.Repeat([]byte{'x'}, pad), decoy...), section...), bytes.Repeat([]byte{'y'}, 1000)...)
		v, m, _, err := scanBuildInfo(iotest.OneByteReader(bytes.NewReader(file)), int64(len(file)))
		if pad > 1000 {
			v, m, _, err = scanBuildInfo(bytes.NewReader(file), int64(len(file)))
		}
		if err != nil || v != vers {
			t.Fatalf("pad %d: vers %q err %v", pad, v, err)
		}
		bi, err := parseModInfo(v, m)
		if err != nil || bi.Main.Path != "example.com/x" || len(bi.Deps) != 1 || bi.Deps[0].Version != "v0.3.7" {
			t.Fatalf("pad %d: %+v %v", pad, bi, err)
		}
	}
}

func putUvarint(b []byte, x uint64) int {
	i := 0
	for x >= 0x80 {
		b[i] = byte(x) | 0x80
		x >>= 7
		i++
	}
	b[i] = byte(x)
	return i + 1
}

func FuzzScanBuildInfo(f *testing.F) {
	f.Add([]byte("\xff Go buildinf:\x08\x02" + string(make([]byte, 16)) + "\x08go1.21.0\x00"))
	f.Add([]byte("\xff Go buildinf:\x08\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, m, _, err := scanBuildInfo(bytes.NewReader(b), int64(len(b)))
		if err == nil && v != "" {
			parseModInfo(v, m)
		}
	})
}
