// Package dpkg finds Debian packages: the dpkg database
// (var/lib/dpkg/status), distroless per-package stanzas
// (var/lib/dpkg/status.d/<pkg>) and the file lists that say which package
// owns which path (var/lib/dpkg/info/<pkg>[:arch].list).
package dpkg

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads the dpkg database.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "dpkg" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

const (
	statusPath = "var/lib/dpkg/status"
	statusDir  = "var/lib/dpkg/status.d/"
	infoDir    = "var/lib/dpkg/info/"
)

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool {
	switch {
	case p == statusPath:
		return true
	case strings.HasPrefix(p, statusDir):
		return isStatusD(p)
	case strings.HasPrefix(p, infoDir):
		return strings.HasSuffix(p, ".list") && strings.IndexByte(p[len(infoDir):], '/') < 0
	}
	return false
}

// isStatusD: a stanza file directly in status.d/, not its .md5sums
// companion (distroless ships both).
func isStatusD(p string) bool {
	rest := p[len(statusDir):]
	return rest != "" && rest[0] != '.' && strings.IndexByte(rest, '/') < 0 && !strings.HasSuffix(rest, ".md5sums")
}

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	if strings.HasPrefix(f.Path, infoDir) {
		files, err := ParseList(f.Content)
		if err != nil {
			return nil, fmt.Errorf("dpkg file list %s: %w", f.Path, err)
		}
		return &analyze.Result{Ownership: []analyze.Ownership{{
			Ecosystem: sbom.Deb,
			Name:      PackageFromListPath(f.Path),
			Files:     files,
		}}}, nil
	}
	pkgs, err := ParseStatus(f.Content)
	if err != nil {
		return nil, fmt.Errorf("dpkg status %s: %w", f.Path, err)
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	return &analyze.Result{Packages: pkgs}, nil
}
