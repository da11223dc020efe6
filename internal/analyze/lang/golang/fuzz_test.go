package golang

import (
	"bytes"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
)

func FuzzParseBinary(f *testing.F) {
	for _, b := range analyzetest.Files(f, analyzetest.ImageDir(f, "distroless")+"/oci", func(p string) bool {
		return p == "usr/local/bin/stella-demo"
	}) {
		f.Add(b)
	}
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseBinary(bytes.NewReader(b))
	})
}

func FuzzParseGoMod(f *testing.F) {
	for _, b := range analyzetest.Files(f, analyzetest.ImageDir(f, "polyglot-lockfiles")+"/oci", func(p string) bool {
		return p == "src/golang/go.mod" || p == "src/golang/go.sum"
	}) {
		f.Add(b)
	}
	f.Add([]byte("module std\n\nrequire golang.org/x/net v0.1.0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseGoMod(bytes.NewReader(b))
	})
}
