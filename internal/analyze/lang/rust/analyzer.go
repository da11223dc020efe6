// Package rust finds Cargo crates: every [[package]] of a Cargo.lock (v1 to
// v4), and the dependency list cargo-auditable embeds in Rust executables
// (the zlib-compressed JSON of the ELF section .dep-v0).
package rust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() {
	analyze.Register(LockAnalyzer{})
	analyze.Register(BinaryAnalyzer{})
}

// LockAnalyzer reads Cargo.lock files.
type LockAnalyzer struct{}

// Name implements analyze.Analyzer.
func (LockAnalyzer) Name() string { return "cargo-lock" }

// Version implements analyze.Analyzer.
func (LockAnalyzer) Version() int { return 1 }

// Wants implements analyze.Analyzer.
func (LockAnalyzer) Wants(p string, _ fs.FileInfo) bool {
	return p == "Cargo.lock" || strings.HasSuffix(p, "/Cargo.lock")
}

// maxLock bounds a Cargo.lock; the largest real ones are a few megabytes.
const maxLock = 64 << 20

// Analyze implements analyze.Analyzer.
func (LockAnalyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	if f.Info != nil && f.Info.Size() > maxLock {
		return nil, fmt.Errorf("cargo lock %s: %d bytes, above the %d-byte limit", f.Path, f.Info.Size(), maxLock)
	}
	data, err := analyze.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("cargo lock %s: %w", f.Path, err)
	}
	pkgs, err := ParseCargoLock(data)
	if err != nil {
		return nil, fmt.Errorf("cargo lock %s: %w", f.Path, err)
	}
	return result(pkgs, f.Path), nil
}

// BinaryAnalyzer reads the cargo-auditable data of ELF executables.
type BinaryAnalyzer struct{}

// Name implements analyze.Analyzer.
func (BinaryAnalyzer) Name() string { return "cargo-auditable" }

// Version implements analyze.Analyzer.
func (BinaryAnalyzer) Version() int { return 1 }

// maxBinary bounds the executables read whole (debug/elf needs random
// access); larger ones are skipped.
const maxBinary = 512 << 20

// Wants implements analyze.Analyzer: regular files with an execute bit.
// The path cannot tell, so the mode and size decide; shared objects are
// left out (cargo-auditable marks executables).
func (BinaryAnalyzer) Wants(p string, fi fs.FileInfo) bool {
	if fi == nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return false
	}
	if s := fi.Size(); s < 128 || s > maxBinary {
		return false
	}
	return !strings.Contains(p[strings.LastIndexByte(p, '/')+1:], ".so")
}

var elfMagic = []byte("\x7fELF")

// Analyze implements analyze.Analyzer. Scripts and other non-ELF files cost
// a four-byte read.
func (BinaryAnalyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	var magic [4]byte
	_, err := io.ReadFull(f.Content, magic[:])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("cargo-auditable %s: %w", f.Path, err)
	}
	if !bytes.Equal(magic[:], elfMagic) {
		return nil, nil
	}
	var pkgs []sbom.Package
	if ra, ok := f.Content.(sizedReaderAt); ok {
		// The walk already holds the content in memory (several analyzers
		// want executables): read it in place instead of copying it.
		pkgs, err = parseAuditableELF(ra)
	} else {
		var data []byte
		data, err = readRest(f, magic[:])
		if err != nil {
			return nil, fmt.Errorf("cargo-auditable %s: %w", f.Path, err)
		}
		pkgs, err = ParseAuditableBinary(data)
	}
	if err != nil {
		return nil, fmt.Errorf("cargo-auditable %s: %w", f.Path, err)
	}
	return result(pkgs, f.Path), nil
}

// sizedReaderAt is what bytes.Reader offers besides io.Reader.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// readRest returns head followed by the rest of f's content, in one
// allocation of the file's size when the size is known.
func readRest(f analyze.File, head []byte) ([]byte, error) {
	if f.Info == nil || f.Info.Size() < int64(len(head)) {
		rest, err := io.ReadAll(f.Content)
		return append(head, rest...), err
	}
	data := make([]byte, f.Info.Size())
	copy(data, head)
	n, err := io.ReadFull(f.Content, data[len(head):])
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil // shorter than declared: parse what there is
	}
	return data[:len(head)+n], err
}

func result(pkgs []sbom.Package, path string) *analyze.Result {
	if len(pkgs) == 0 {
		return nil
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{path}
	}
	return &analyze.Result{Packages: pkgs}
}

func newPackage(name, version string) sbom.Package {
	p := sbom.Package{Name: name, Version: version, Ecosystem: sbom.Cargo}
	p.PURL = sbom.PURL(&p)
	return p
}
