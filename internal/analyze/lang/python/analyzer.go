// Package python finds Python packages: installed distributions from
// *.dist-info/METADATA, *.egg-info/PKG-INFO (or an .egg-info file) and
// *.egg/EGG-INFO/PKG-INFO, and locked ones from poetry.lock, Pipfile.lock
// and pinned requirements*.txt files.
package python

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer is the Python analyzer.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "python" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Metadata["source"] values.
const (
	SourceInstalled = "installed"
	SourceLockfile  = "lockfile"
)

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool {
	switch {
	case strings.HasSuffix(p, ".dist-info/METADATA"),
		strings.HasSuffix(p, ".egg-info/PKG-INFO"),
		strings.HasSuffix(p, ".egg/EGG-INFO/PKG-INFO"),
		strings.HasSuffix(p, ".egg-info"): // a single-file egg-info is PKG-INFO
		return true
	}
	base := p[strings.LastIndexByte(p, '/')+1:]
	switch {
	case base == "poetry.lock", base == "Pipfile.lock":
	case strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt"):
	default:
		return false
	}
	// Lock and requirement files shipped inside installed packages are
	// their authors' development files, not what is installed here.
	return !strings.Contains(p, "-packages/") && !strings.Contains(p, "node_modules/")
}

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(ctx context.Context, f analyze.File) (*analyze.Result, error) {
	base := path.Base(f.Path)
	var (
		pkgs []sbom.Package
		err  error
	)
	switch {
	case base == "METADATA", base == "PKG-INFO", strings.HasSuffix(base, ".egg-info"):
		var p *sbom.Package
		p, err = ParseMetadata(f.Content)
		if p != nil {
			pkgs = []sbom.Package{*p}
		}
	case base == "poetry.lock":
		pkgs, err = ParsePoetryLock(f.Content)
	case base == "Pipfile.lock":
		pkgs, err = ParsePipfileLock(f.Content)
	case strings.HasPrefix(base, "requirements"):
		pkgs, err = ParseRequirements(f.Content)
	default:
		return nil, nil
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

var separators = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 form of a distribution name: lower case,
// runs of "-", "_" and "." replaced by one "-".
func Normalize(name string) string {
	return separators.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
}

func newPackage(name, version, source string) sbom.Package {
	p := sbom.Package{
		Name:      Normalize(name),
		Version:   version,
		Ecosystem: sbom.PyPI,
		Metadata:  map[string]string{"source": source},
	}
	p.PURL = sbom.PURL(&p)
	return p
}

// maxInput bounds what a parser reads into memory.
const maxInput = 64 << 20

func readAll(r io.Reader) ([]byte, error) { return analyze.ReadLimited(r, maxInput) }
