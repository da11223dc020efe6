// Package php finds Composer packages: composer.lock (packages → prod,
// packages-dev → dev) and what Composer installed, vendor/composer/
// installed.json (the Composer 1 array and the Composer 2 object forms).
package php

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads composer.lock and vendor/composer/installed.json.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "composer" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool { return isLock(p) || isInstalled(p) }

func isLock(p string) bool { return p == "composer.lock" || strings.HasSuffix(p, "/composer.lock") }

func isInstalled(p string) bool {
	return p == "vendor/composer/installed.json" || strings.HasSuffix(p, "/vendor/composer/installed.json")
}

// maxFile bounds one file; real ones are well under 10 MB.
const maxFile = 64 << 20

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	if f.Info != nil && f.Info.Size() > maxFile {
		return nil, fmt.Errorf("composer %s: %d bytes, above the %d-byte limit", f.Path, f.Info.Size(), maxFile)
	}
	data, err := analyze.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("composer %s: %w", f.Path, err)
	}
	var pkgs []sbom.Package
	if isLock(f.Path) {
		pkgs, err = ParseComposerLock(data)
	} else {
		pkgs, err = ParseInstalledJSON(data)
	}
	if err != nil {
		return nil, fmt.Errorf("composer %s: %w", f.Path, err)
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	return &analyze.Result{Packages: pkgs}, nil
}
