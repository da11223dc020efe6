package dotnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/stella-scan/stella/internal/sbom"
)

// ParsePackagesLock returns the packages of a NuGet packages.lock.json:
// every entry under dependencies.<target framework> of type Direct,
// Transitive or CentralTransitive, at its "resolved" version. "Project"
// entries are other projects of the same solution, not packages. A package
// locked for several frameworks at one version is returned once.
func ParsePackagesLock(b []byte) ([]sbom.Package, error) {
	var lock struct {
		Version      int `json:"version"`
		Dependencies *map[string]map[string]struct {
			Type     string `json:"type"`
			Resolved string `json:"resolved"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("packages.lock.json: %w", err)
	}
	if lock.Dependencies == nil {
		return nil, errors.New("packages.lock.json: no \"dependencies\"")
	}
	frameworks := make([]string, 0, len(*lock.Dependencies))
	for fw := range *lock.Dependencies {
		frameworks = append(frameworks, fw)
	}
	sort.Strings(frameworks)
	var out []sbom.Package
	seen := map[string]bool{}
	for _, fw := range frameworks {
		entries := (*lock.Dependencies)[fw]
		names := make([]string, 0, len(entries))
		for n := range entries {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			e := entries[n]
			switch e.Type {
			case "Direct", "Transitive", "CentralTransitive":
			default:
				continue
			}
			if n == "" || e.Resolved == "" {
				continue
			}
			k := n + "\x00" + e.Resolved
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, newPackage(n, e.Resolved, map[string]string{"dependencyType": e.Type, "targetFramework": fw}))
		}
	}
	return out, nil
}
