// Package dotnet finds NuGet packages: the libraries of *.deps.json (the
// dependency manifest the .NET SDK writes next to an application) and the
// entries of packages.lock.json (NuGet's lock file).
package dotnet

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads *.deps.json and packages.lock.json files.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "dotnet" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool { return isDeps(p) || isLock(p) }

func isDeps(p string) bool {
	return strings.HasSuffix(p, ".deps.json") && len(p) > len(".deps.json") && p[len(p)-len(".deps.json")-1] != '/'
}

func isLock(p string) bool {
	return p == "packages.lock.json" || strings.HasSuffix(p, "/packages.lock.json")
}

// maxFile bounds one file; real ones are at most a few megabytes.
const maxFile = 64 << 20

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	if f.Info != nil && f.Info.Size() > maxFile {
		return nil, fmt.Errorf("dotnet %s: %d bytes, above the %d-byte limit", f.Path, f.Info.Size(), maxFile)
	}
	data, err := analyze.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("dotnet %s: %w", f.Path, err)
	}
	var pkgs []sbom.Package
	if isLock(f.Path) {
		pkgs, err = ParsePackagesLock(data)
	} else {
		pkgs, err = ParseDepsJSON(data)
	}
	if err != nil {
		return nil, fmt.Errorf("dotnet %s: %w", f.Path, err)
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	return &analyze.Result{Packages: pkgs}, nil
}

func newPackage(name, version string, md map[string]string) sbom.Package {
	p := sbom.Package{Name: name, Version: version, Ecosystem: sbom.NuGet, Metadata: md}
	p.PURL = sbom.PURL(&p)
	return p
}
