// Package analyze holds the Analyzer interface and the registry of
// analyzers. One sub-package per ecosystem family implements it: os/dpkg,
// os/apk, os/rpm, osrelease, lang/npm, lang/golang, lang/python, lang/java,
// lang/ruby, lang/rust, lang/php, lang/dotnet.
//
// The layer walk streams each layer once; for every entry it asks each
// analyzer whether it Wants the file, and hands the content to those that
// do. An analyzer never opens files itself, so the same code serves image
// layers, directories and fuzzing.
package analyze

import (
	"context"
	"io"
	"io/fs"
	"sort"
	"sync"

	"github.com/stella-scan/stella/internal/sbom"
)

// Analyzer finds packages in the files it wants.
type Analyzer interface {
	// Name is unique, e.g. "dpkg", "npm-lock".
	Name() string
	// Version is bumped whenever the analyzer's output changes, which
	// invalidates the cache entries it produced.
	Version() int
	// Wants reports whether the file at path (cleaned, relative to the
	// image root, no leading slash, e.g. "var/lib/dpkg/status") is read by
	// this analyzer. It is called for every regular file of every layer, so
	// it must be cheap: decide on the path, and on fi (mode, size) only
	// when the path cannot tell (executables).
	Wants(path string, fi fs.FileInfo) bool
	// Analyze parses one file. It returns the packages it records (Paths
	// set to f.Path, Layer left empty: the walk fills it in) and, for OS
	// package databases, the files each package owns (Package.Files) and
	// the distro (Result.Distro, for release files).
	Analyze(ctx context.Context, f File) (*Result, error)
}

// File is one regular file handed to an analyzer.
type File struct {
	Path string      // cleaned, relative to the root, no leading slash
	Info fs.FileInfo // mode and size from the tar header or the file system
	// Content streams the file once. It is bounded by the walk's per-file
	// limit; an analyzer that needs random access (ELF, zip, sqlite) reads
	// it whole with ReadAll, which respects that limit.
	Content io.Reader
}

// Result is what one file yields.
type Result struct {
	Packages []sbom.Package
	// Distro is set by release-file analyzers (os-release, alpine-release…).
	Distro *sbom.Distro
	// Ownership lists files that an OS package owns when they are recorded
	// apart from the package itself (dpkg's info/<pkg>.list). Databases
	// that hold file lists with the package (rpm, apk) set Package.Files.
	Ownership []Ownership
}

// Ownership says that the OS package Name (of Ecosystem) owns Files (paths
// cleaned, relative to the root, no leading slash).
type Ownership struct {
	Ecosystem string
	Name      string // package name without :arch
	Files     []string
}

var (
	mu       sync.RWMutex
	registry = map[string]Analyzer{}
)

// Register adds an analyzer; each analyzer package calls it from init.
// Registering the same name twice panics: it is a programming error.
func Register(a Analyzer) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[a.Name()]; dup {
		panic("analyze: duplicate analyzer " + a.Name())
	}
	registry[a.Name()] = a
}

// All returns every registered analyzer sorted by name.
func All() []Analyzer {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Analyzer, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// ReadAll reads a file's whole content; the walk already bounds the reader,
// so this cannot exceed the per-file limit.
func ReadAll(f File) ([]byte, error) {
	if f.Info != nil && f.Info.Size() > 0 {
		buf := make([]byte, 0, f.Info.Size())
		w := &appendWriter{buf: buf}
		_, err := io.Copy(w, f.Content)
		return w.buf, err
	}
	return io.ReadAll(f.Content)
}

type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}
