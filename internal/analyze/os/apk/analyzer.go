// Package apk finds Alpine (and other apk-based: Wolfi, Chainguard)
// packages in apk's installed database, lib/apk/db/installed, with the
// files each package owns.
package apk

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/stella-scan/stella/internal/analyze"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads lib/apk/db/installed.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "apk" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

const dbPath = "lib/apk/db/installed"

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool { return p == dbPath }

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	pkgs, err := ParseInstalled(f.Content)
	if err != nil {
		return nil, fmt.Errorf("apk database %s: %w", f.Path, err)
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	return &analyze.Result{Packages: pkgs}, nil
}
