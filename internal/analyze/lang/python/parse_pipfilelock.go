package python

import (
	"encoding/json"
	"fmt"
	"github.com/stella-scan/stella/internal/analyze"
	"io"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

type pipfileLock struct {
	Default map[string]pipfileEntry `json:"default"`
	Develop map[string]pipfileEntry `json:"develop"`
}

type pipfileEntry struct {
	Version string `json:"version"`
}

// ParsePipfileLock reads a Pipfile.lock: entries of "default" (prod) and
// "develop" (dev) pinned "==X". A package in both sections counts once, as
// prod. Editable, path and VCS entries carry no version and are skipped.
func ParsePipfileLock(r io.Reader) ([]sbom.Package, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var lock pipfileLock
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("invalid Pipfile.lock JSON: %w", err)
	}
	var d analyze.Dedup
	for _, sec := range []struct {
		entries map[string]pipfileEntry
		scope   string
	}{{lock.Default, "prod"}, {lock.Develop, "dev"}} {
		names := make([]string, 0, len(sec.entries))
		for n := range sec.entries {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v, ok := strings.CutPrefix(strings.TrimSpace(sec.entries[n].Version), "==")
			v = strings.TrimPrefix(v, "=") // "===" arbitrary equality
			if !ok || v == "" || strings.ContainsAny(v, "*,<>!~ ") {
				continue
			}
			p := newPackage(n, v, SourceLockfile)
			p.Scope = sec.scope
			d.Add(p)
		}
	}
	sortPackages(d.Pkgs)
	return d.Pkgs, nil
}
