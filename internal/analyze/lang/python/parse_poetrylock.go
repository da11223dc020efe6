package python

import (
	"fmt"
	"github.com/stella-scan/stella/internal/analyze"
	"io"
	"sort"

	"github.com/BurntSushi/toml"

	"github.com/stella-scan/stella/internal/sbom"
)

type poetryLock struct {
	Package []struct {
		Name     string   `toml:"name"`
		Version  string   `toml:"version"`
		Category string   `toml:"category"` // poetry < 1.5: "main" or "dev"
		Groups   []string `toml:"groups"`   // lock-version 2.1: ["main", "test"]
	} `toml:"package"`
}

// ParsePoetryLock reads a poetry.lock: every [[package]], scope from
// category ("main" → prod, "dev" → dev) or, in newer locks, from groups
// (a package in "main" is prod, one only in other groups is dev).
func ParsePoetryLock(r io.Reader) ([]sbom.Package, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var lock poetryLock
	if err := toml.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("poetry.lock: %w", err)
	}
	var d analyze.Dedup
	for _, e := range lock.Package {
		if e.Name == "" || e.Version == "" {
			continue
		}
		p := newPackage(e.Name, e.Version, SourceLockfile)
		switch e.Category {
		case "main":
			p.Scope = "prod"
		case "dev":
			p.Scope = "dev"
		}
		if p.Scope == "" && len(e.Groups) > 0 {
			p.Scope = "dev"
			for _, g := range e.Groups {
				if g == "main" {
					p.Scope = "prod"
				}
			}
		}
		d.Add(p)
	}
	sortPackages(d.Pkgs)
	return d.Pkgs, nil
}

func sortPackages(p []sbom.Package) {
	sort.Slice(p, func(i, j int) bool {
		if p[i].Name != p[j].Name {
			return p[i].Name < p[j].Name
		}
		return p[i].Version < p[j].Version
	})
}
