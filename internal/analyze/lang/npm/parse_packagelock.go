package npm

import (
	"encoding/json"
	"fmt"
	"github.com/stella-scan/stella/internal/analyze"
	"io"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// packageLock covers the three package-lock.json formats: v1 has only the
// nested "dependencies" tree, v2 both, v3 (and the hidden lockfile) only the
// flat "packages" map keyed by install path.
type packageLock struct {
	LockfileVersion int                    `json:"lockfileVersion"`
	Packages        map[string]lockPackage `json:"packages"`
	Dependencies    map[string]*lockDepV1  `json:"dependencies"`
}

type lockPackage struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Dev         bool            `json:"dev"`
	Optional    bool            `json:"optional"`
	DevOptional bool            `json:"devOptional"`
	Link        bool            `json:"link"`
	License     json.RawMessage `json:"license"`
}

type lockDepV1 struct {
	Version      string                `json:"version"`
	Dev          bool                  `json:"dev"`
	Optional     bool                  `json:"optional"`
	Dependencies map[string]*lockDepV1 `json:"dependencies"`
}

// maxV1Depth bounds the nesting of a v1 "dependencies" tree (real trees
// are a few dozen levels deep at most).
const maxV1Depth = 256

// ParsePackageLock reads package-lock.json (v1–v3) or npm's hidden
// lockfile. dir is the project directory the lock's install paths are
// relative to; each package records its install path in
// Metadata["installPath"].
func ParsePackageLock(r io.Reader, dir string) ([]sbom.Package, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var lock packageLock
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("package-lock: %w", err)
	}
	prefix := ""
	if dir != "" && dir != "." {
		prefix = dir + "/"
	}
	var d analyze.Dedup
	if lock.Packages != nil {
		for _, key := range sortedKeys(lock.Packages) {
			e := lock.Packages[key]
			i := strings.LastIndex(key, "node_modules/")
			// "" is the project itself; keys without node_modules are
			// workspace folders; links point at those folders.
			if i < 0 || e.Link {
				continue
			}
			name := e.Name
			if name == "" {
				name = key[i+len("node_modules/"):]
			}
			name, version := aliasedVersion(name, e.Version)
			if name == "" || !usableVersion(version) {
				continue
			}
			p := newPackage(name, version, SourceLockfile)
			p.Scope = lockScope(e.Dev || e.DevOptional, e.Optional)
			p.Metadata["installPath"] = prefix + key
			p.Licenses = licenses(e.License, nil)
			d.Add(p)
		}
		sortPackages(d.Pkgs)
		return d.Pkgs, nil
	}
	type item struct {
		deps  map[string]*lockDepV1
		path  string
		depth int
	}
	stack := []item{{deps: lock.Dependencies, path: prefix}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > maxV1Depth {
			return nil, fmt.Errorf("package-lock: dependencies nested deeper than %d", maxV1Depth)
		}
		for _, key := range sortedKeys(it.deps) {
			e := it.deps[key]
			if e == nil {
				continue
			}
			install := it.path + "node_modules/" + key
			name, version := aliasedVersion(key, e.Version)
			if name != "" && usableVersion(version) {
				p := newPackage(name, version, SourceLockfile)
				p.Scope = lockScope(e.Dev, e.Optional)
				p.Metadata["installPath"] = install
				d.Add(p)
			}
			if len(e.Dependencies) > 0 {
				stack = append(stack, item{deps: e.Dependencies, path: install + "/", depth: it.depth + 1})
			}
		}
	}
	sortPackages(d.Pkgs)
	return d.Pkgs, nil
}

// aliasedVersion resolves npm aliases: a dependency installed as "foo"
// with version "npm:bar@1.2.3" is the package bar@1.2.3.
func aliasedVersion(name, version string) (string, string) {
	if rest, ok := strings.CutPrefix(version, "npm:"); ok {
		if i := strings.LastIndexByte(rest, '@'); i > 0 {
			return rest[:i], rest[i+1:]
		}
	}
	return name, version
}

// usableVersion rejects entries that name a local folder instead of a
// published version.
func usableVersion(v string) bool {
	return v != "" && !strings.HasPrefix(v, "file:") && !strings.HasPrefix(v, "link:")
}

func lockScope(dev, optional bool) string {
	switch {
	case dev:
		return "dev"
	case optional:
		return "optional"
	}
	return "prod"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
