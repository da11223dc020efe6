package control

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	in := "# comment\n\nPackage: a\nDescription: short\n long\n .\n\tmore\n\n \t\nPackage: b\r\nversion:  2 \r\n"
	r := NewReader(strings.NewReader(in), Limits{})
	a, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if a.Value("package") != "a" || a.Value("Description") != "short\nlong\n.\nmore" || a.Line != 3 {
		t.Errorf("stanza a: %+v", a)
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if b.Value("Version") != "2" {
		t.Errorf("stanza b: %+v", b)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last stanza: %v", err)
	}
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		in  string
		lim Limits
	}{
		{"A: " + strings.Repeat("x", 100) + "\n", Limits{MaxLine: 50}},
		{"A: 1\nB: 2\nC: 3\n", Limits{MaxFields: 2}},
		{"A: 1\n" + strings.Repeat(" cont\n", 100), Limits{MaxStanzaBytes: 100}},
	} {
		r := NewReader(strings.NewReader(tc.in), tc.lim)
		if _, err := r.Next(); !errors.Is(err, ErrLimit) {
			t.Errorf("%.20q with %+v: %v, want ErrLimit", tc.in, tc.lim, err)
		}
	}
}
