package store

import (
	"strings"
	"testing"
)

// FuzzDecodeCursor: a client's cursor never panics the decoder, and every
// cursor the store hands out decodes back to its parts.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("1772366400000000000", "scan-acme-0001", "!!garbage")
	f.Add("", "", "")
	f.Add("x\x00y", "z", EncodeCursor("a", "b", "c"))
	f.Fuzz(func(t *testing.T, a, b, raw string) {
		DecodeCursor(raw, 1)
		DecodeCursor(raw, 2)
		if strings.Contains(a, "\x00") || strings.Contains(b, "\x00") {
			return
		}
		c := EncodeCursor(a, b)
		if len(c) > 4096 {
			return
		}
		p, err := DecodeCursor(c, 2)
		if err != nil || p[0] != a || p[1] != b {
			t.Fatalf("DecodeCursor(EncodeCursor(%q, %q)) = %q, %v", a, b, p, err)
		}
	})
}
