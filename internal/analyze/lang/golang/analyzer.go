// Package golang finds Go modules: those linked into Go binaries (from the
// build information the toolchain embeds: the standard library at the
// toolchain's version, the main module, every dependency) and those
// required by go.mod files in source trees.
package golang

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"io/fs"
	"log/slog"
	"path"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer is the Go analyzer.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "golang" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 2 }

// minBinary is the size below which an executable cannot be a Go binary
// (the smallest hello-world is over 1 MB; build info alone needs a few KB).
const minBinary = 4 << 10

// Wants implements analyze.Analyzer: go.mod files in source trees, and
// candidate binaries — executable files, or any file in a bin directory.
// Binaries are confirmed by their magic bytes in Analyze.
func (Analyzer) Wants(p string, fi fs.FileInfo) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	if base == "go.mod" {
		return wantGoMod(p)
	}
	if fi != nil && fi.Size() > 0 && fi.Size() < minBinary {
		return false
	}
	if fi != nil && fi.Mode()&0o111 != 0 {
		return true
	}
	return strings.HasPrefix(p, "bin/") || strings.Contains(p, "/bin/")
}

// wantGoMod leaves out go.mod files that describe no software of the
// image's own: vendored copies, the module cache and test data.
func wantGoMod(p string) bool {
	return !strings.HasPrefix(p, "vendor/") && !strings.Contains(p, "/vendor/") &&
		!strings.HasPrefix(p, "pkg/mod/") && !strings.Contains(p, "/pkg/mod/") &&
		!strings.HasPrefix(p, "testdata/") && !strings.Contains(p, "/testdata/")
}

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(ctx context.Context, f analyze.File) (*analyze.Result, error) {
	var (
		pkgs []sbom.Package
		err  error
	)
	if path.Base(f.Path) == "go.mod" {
		pkgs, err = ParseGoMod(f.Content)
	} else {
		pkgs, err = analyzeBinary(f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	return &analyze.Result{Packages: pkgs}, nil
}

// analyzeBinary checks the first bytes for an executable format, then
// scans the stream for Go build info without holding the file: only a
// pre-Go 1.18 binary of at most 8 MiB is read whole for debug/buildinfo.
func analyzeBinary(f analyze.File) ([]sbom.Package, error) {
	// The walk already holds the file when several analyzers want it:
	// read the build info in place.
	if ra, ok := f.Content.(interface {
		io.ReaderAt
		Size() int64
	}); ok {
		var magic [4]byte
		if _, err := ra.ReadAt(magic[:], 0); err != nil || !IsExecutable(magic[:]) {
			return nil, nil
		}
		pkgs, err := ParseBinary(ra)
		if err != nil {
			slog.Debug("no Go build info", "path", f.Path, "err", err)
			return nil, nil
		}
		return pkgs, nil
	}
	br := bufio.NewReaderSize(f.Content, 512)
	magic, err := br.Peek(4)
	if err != nil || !IsExecutable(magic) {
		return nil, nil // too short, unreadable or not a binary: not ours
	}
	var size int64
	if f.Info != nil {
		size = f.Info.Size()
	}
	vers, mod, whole, err := scanBuildInfo(br, size)
	switch {
	case errors.Is(err, errOldFormat) && whole != nil:
		pkgs, err := ParseBinary(bytes.NewReader(whole))
		if err != nil {
			slog.Debug("no Go build info", "path", f.Path, "err", err)
			return nil, nil
		}
		return pkgs, nil
	case errors.Is(err, errOldFormat):
		slog.Debug("pre-Go 1.18 binary too large to read whole", "path", f.Path)
		return nil, nil
	case err != nil:
		return nil, err
	case vers == "":
		return nil, nil // not a Go program
	}
	bi, err := parseModInfo(vers, mod)
	if err != nil {
		return nil, fmt.Errorf("go build info: %w", err)
	}
	return fromBuildInfo(bi), nil
}

// IsExecutable reports whether b starts with the magic number of an ELF,
// Mach-O (thin or fat) or PE executable.
func IsExecutable(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")),
		bytes.HasPrefix(b, []byte("MZ")),
		bytes.HasPrefix(b, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.HasPrefix(b, []byte{0xce, 0xfa, 0xed, 0xfe}),
		bytes.HasPrefix(b, []byte{0xfe, 0xed, 0xfa, 0xcf}), bytes.HasPrefix(b, []byte{0xcf, 0xfa, 0xed, 0xfe}),
		bytes.HasPrefix(b, []byte{0xca, 0xfe, 0xba, 0xbe}):
		return true
	}
	return false
}

// newPackage builds a Go module package with its purl.
func newPackage(name, version, source string) sbom.Package {
	p := sbom.Package{
		Name:      name,
		Version:   version,
		Ecosystem: sbom.Golang,
		Metadata:  map[string]string{"source": source},
	}
	p.PURL = sbom.PURL(&p)
	return p
}
