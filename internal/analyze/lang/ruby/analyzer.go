// Package ruby finds RubyGems packages: installed gem specifications
// (specifications/*.gemspec, including Debian's rubygems-integration
// directories and Ruby's default gems) and Bundler lock files
// (Gemfile.lock, gems.locked).
package ruby

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads gemspecs and Gemfile.lock files.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "ruby" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool {
	return isLockfile(p) || isInstalledSpec(p)
}

func isLockfile(p string) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	return base == "Gemfile.lock" || base == "gems.locked"
}

// isInstalledSpec: <gem home>/specifications/<name>-<version>.gemspec or
// specifications/default/…; a gemspec elsewhere is a gem's source, whose
// version is usually Ruby code (Foo::VERSION) rather than a literal.
func isInstalledSpec(p string) bool {
	if !strings.HasSuffix(p, ".gemspec") {
		return false
	}
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return false
	}
	dir := p[:i]
	dir = strings.TrimSuffix(dir, "/default")
	return dir == "specifications" || strings.HasSuffix(dir, "/specifications")
}

// maxFile bounds what is read of one file; real lock files and specs are
// well under a megabyte.
const maxFile = 32 << 20

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	if f.Info != nil && f.Info.Size() > maxFile {
		return nil, fmt.Errorf("ruby %s: %d bytes, above the %d-byte limit", f.Path, f.Info.Size(), maxFile)
	}
	data, err := analyze.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("ruby %s: %w", f.Path, err)
	}
	var pkgs []sbom.Package
	if isLockfile(f.Path) {
		pkgs, err = ParseGemfileLock(data)
	} else {
		var p sbom.Package
		p, err = ParseGemspec(data)
		pkgs = []sbom.Package{p}
	}
	if err != nil {
		return nil, fmt.Errorf("ruby %s: %w", f.Path, err)
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	return &analyze.Result{Packages: pkgs}, nil
}

func newPackage(name, version string) sbom.Package {
	p := sbom.Package{Name: name, Version: version, Ecosystem: sbom.Gem}
	p.PURL = sbom.PURL(&p)
	return p
}
