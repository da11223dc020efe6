// Package npm finds npm packages: installed ones from
// node_modules/**/package.json, and locked ones from package-lock.json (v1,
// v2, v3, and npm's hidden node_modules/.package-lock.json), yarn.lock (v1
// and berry) and pnpm-lock.yaml (v5, v6, v9).
//
// Installed packages carry Metadata["source"] = "installed", lock-file
// packages "lockfile", so that the pipeline can prefer installed evidence
// when a project has both.
package npm

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer is the npm analyzer.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "npm" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Metadata["source"] values.
const (
	SourceInstalled = "installed"
	SourceLockfile  = "lockfile"
)

const hiddenLock = "node_modules/.package-lock.json"

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	switch base {
	case "package.json":
		return isInstalledManifest(p)
	case ".package-lock.json":
		// only npm's hidden lockfile at the top of a node_modules tree
		return p == hiddenLock || strings.HasSuffix(p, "/"+hiddenLock) && !inNodeModules(p[:len(p)-len(hiddenLock)])
	case "package-lock.json", "yarn.lock", "pnpm-lock.yaml":
		// Lock files shipped inside installed packages describe their
		// authors' development trees, not what is installed here.
		return !inNodeModules(p)
	}
	return false
}

// inNodeModules reports whether p has a node_modules path element.
func inNodeModules(p string) bool {
	return strings.HasPrefix(p, "node_modules/") || strings.Contains(p, "/node_modules/")
}

// isInstalledManifest reports whether p is the package.json at the root of
// an installed package: node_modules/<name>/package.json or
// node_modules/@scope/<name>/package.json, at any depth.
func isInstalledManifest(p string) bool {
	dir := strings.TrimSuffix(p, "/package.json")
	if dir == p {
		return false
	}
	i := strings.LastIndexByte(dir, '/')
	if i < 0 {
		return false
	}
	name, parent := dir[i+1:], dir[:i]
	if name == "" || name[0] == '.' || name[0] == '@' {
		return false
	}
	if j := strings.LastIndexByte(parent, '/'); j >= 0 && strings.HasPrefix(parent[j+1:], "@") {
		parent = parent[:j]
	} else if j < 0 && strings.HasPrefix(parent, "@") {
		return false
	}
	return parent == "node_modules" || strings.HasSuffix(parent, "/node_modules")
}

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(ctx context.Context, f analyze.File) (*analyze.Result, error) {
	base := path.Base(f.Path)
	var (
		pkgs []sbom.Package
		err  error
	)
	switch base {
	case "package.json":
		var p *sbom.Package
		p, err = ParsePackageJSON(f.Content)
		if p != nil {
			pkgs = []sbom.Package{*p}
		}
	case "package-lock.json", ".package-lock.json":
		// Entries are relative to the project directory: the lock's own
		// directory, or the parent of node_modules for the hidden lock.
		dir := path.Dir(f.Path)
		if base == ".package-lock.json" {
			dir = path.Dir(dir)
		}
		pkgs, err = ParsePackageLock(f.Content, dir)
	case "yarn.lock":
		pkgs, err = ParseYarnLock(f.Content)
	case "pnpm-lock.yaml":
		pkgs, err = ParsePnpmLock(f.Content)
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

// newPackage builds a package with its purl.
func newPackage(name, version, source string) sbom.Package {
	p := sbom.Package{
		Name:      name,
		Version:   version,
		Ecosystem: sbom.NPM,
		Metadata:  map[string]string{"source": source},
	}
	p.PURL = sbom.PURL(&p)
	return p
}

// limitedReader guards parsers that read the whole input: the walk bounds
// files already, this keeps fuzzing and direct callers honest too.
const maxInput = 256 << 20

func readAll(r io.Reader) ([]byte, error) { return analyze.ReadLimited(r, maxInput) }

// sortPackages orders packages by name, version (lock maps have no order).
func sortPackages(p []sbom.Package) {
	sort.Slice(p, func(i, j int) bool {
		if p[i].Name != p[j].Name {
			return p[i].Name < p[j].Name
		}
		return p[i].Version < p[j].Version
	})
}
