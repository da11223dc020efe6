package npm

import (
	"fmt"
	"github.com/stella-scan/stella/internal/analyze"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stella-scan/stella/internal/sbom"
)

// pnpmLock covers pnpm-lock.yaml v5.x, v6 and v9. Packages are the keys of
// "packages": "/name/1.2.3_peer" (v5), "/name@1.2.3(peer@1)" (v6),
// "name@1.2.3" (v9). v5 and v6 flag dev packages on each entry; v9 does
// not, so its scope is derived from the importers' dependency kinds and
// the "snapshots" graph.
type pnpmLock struct {
	LockfileVersion any                       `yaml:"lockfileVersion"`
	Importers       map[string]pnpmImporter   `yaml:"importers"`
	Packages        map[string]pnpmPackage    `yaml:"packages"`
	Snapshots       map[string]pnpmSnapshot   `yaml:"snapshots"`
	Dependencies    map[string]pnpmDepVersion `yaml:"dependencies"`
	DevDependencies map[string]pnpmDepVersion `yaml:"devDependencies"`
	OptionalDeps    map[string]pnpmDepVersion `yaml:"optionalDependencies"`
}

type pnpmImporter struct {
	Dependencies         map[string]pnpmDepVersion `yaml:"dependencies"`
	DevDependencies      map[string]pnpmDepVersion `yaml:"devDependencies"`
	OptionalDependencies map[string]pnpmDepVersion `yaml:"optionalDependencies"`
}

type pnpmPackage struct {
	Name     string `yaml:"name"`
	Version  string `yaml:"version"`
	Dev      *bool  `yaml:"dev"`
	Optional bool   `yaml:"optional"`
}

type pnpmSnapshot struct {
	Dependencies         map[string]string `yaml:"dependencies"`
	OptionalDependencies map[string]string `yaml:"optionalDependencies"`
}

// pnpmDepVersion is an importer's dependency: a version string (v5) or
// {specifier, version} (v6, v9).
type pnpmDepVersion string

func (v *pnpmDepVersion) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*v = pnpmDepVersion(n.Value)
		return nil
	case yaml.MappingNode:
		var m struct {
			Version string `yaml:"version"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		*v = pnpmDepVersion(m.Version)
		return nil
	}
	return fmt.Errorf("line %d: dependency is neither a version nor a mapping", n.Line)
}

// ParsePnpmLock reads a pnpm-lock.yaml.
func ParsePnpmLock(r io.Reader) ([]sbom.Package, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var lock pnpmLock
	if err := yaml.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("pnpm-lock: %w", err)
	}
	major, err := pnpmMajor(lock.LockfileVersion)
	if err != nil {
		return nil, err
	}
	var scopes map[string]string
	if major >= 9 {
		scopes = pnpmV9Scopes(&lock)
	}
	var d analyze.Dedup
	for _, key := range sortedKeys(lock.Packages) {
		e := lock.Packages[key]
		name, version := pnpmKey(key, major)
		if e.Name != "" && e.Version != "" {
			name, version = e.Name, e.Version
		}
		if name == "" || !usableVersion(version) {
			continue
		}
		p := newPackage(name, version, SourceLockfile)
		switch {
		case major >= 9:
			p.Scope = scopes[name+"@"+version]
		case e.Dev != nil && *e.Dev:
			p.Scope = "dev"
		case e.Optional:
			p.Scope = "optional"
		default:
			p.Scope = "prod"
		}
		d.Add(p)
	}
	sortPackages(d.Pkgs)
	return d.Pkgs, nil
}

// pnpmMajor reads lockfileVersion: 5.4 (a YAML number), '6.0', '9.0'.
func pnpmMajor(v any) (int, error) {
	s := strings.Trim(fmt.Sprint(v), `'"`)
	if v == nil || s == "" {
		return 0, fmt.Errorf("pnpm-lock: no lockfileVersion")
	}
	m, _, _ := strings.Cut(s, ".")
	n, err := strconv.Atoi(m)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("pnpm-lock: lockfileVersion %q not understood", s)
	}
	return n, nil
}

// pnpmKey splits a packages key into name and version, dropping the peer
// suffix ("_…" in v5, "(…)" from v6).
func pnpmKey(key string, major int) (name, version string) {
	key = strings.TrimPrefix(key, "/")
	if i := strings.IndexByte(key, '('); i >= 0 {
		key = key[:i]
	}
	if major < 6 {
		// name/version[_peers]; a scoped name has two segments.
		slash := strings.IndexByte(key, '/')
		if strings.HasPrefix(key, "@") && slash >= 0 {
			next := strings.IndexByte(key[slash+1:], '/')
			if next < 0 {
				return "", ""
			}
			slash += 1 + next
		}
		if slash <= 0 {
			return "", ""
		}
		name, version = key[:slash], key[slash+1:]
		if i := strings.IndexByte(version, '_'); i >= 0 {
			version = version[:i]
		}
		if strings.Contains(version, "/") {
			return "", "" // a host/path key; the entry's own fields name it
		}
		return name, version
	}
	i := strings.LastIndexByte(key, '@')
	if i <= 0 {
		return "", ""
	}
	return key[:i], key[i+1:]
}

// pnpmV9Scopes walks the snapshot graph from each importer's dependencies:
// what prod or optional dependencies reach is prod, what only dev
// dependencies reach is dev. Keys are "name@version" without peers.
func pnpmV9Scopes(lock *pnpmLock) map[string]string {
	scopes := map[string]string{}
	visit := func(roots []string, scope string) {
		seen := map[string]bool{}
		stack := roots
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[k] {
				continue
			}
			seen[k] = true
			bare := k
			if i := strings.IndexByte(bare, '('); i >= 0 {
				bare = bare[:i]
			}
			if analyze.ScopeRank(scope) > analyze.ScopeRank(scopes[bare]) {
				scopes[bare] = scope
			}
			s := lock.Snapshots[k]
			for n, v := range s.Dependencies {
				stack = append(stack, snapshotKey(n, v))
			}
			for n, v := range s.OptionalDependencies {
				stack = append(stack, snapshotKey(n, v))
			}
		}
	}
	var prod, dev []string
	for _, imp := range lock.Importers {
		for n, v := range imp.Dependencies {
			prod = append(prod, snapshotKey(n, string(v)))
		}
		for n, v := range imp.OptionalDependencies {
			prod = append(prod, snapshotKey(n, string(v)))
		}
		for n, v := range imp.DevDependencies {
			dev = append(dev, snapshotKey(n, string(v)))
		}
	}
	visit(prod, "prod")
	visit(dev, "dev")
	return scopes
}

// snapshotKey turns a dependency reference into a snapshots key: a plain
// version ("1.2.3(peer@1)") belongs to the dependency's name; an alias is
// already "other-name@1.2.3".
func snapshotKey(name, version string) string {
	bare := version
	if i := strings.IndexByte(bare, '('); i >= 0 {
		bare = bare[:i]
	}
	if i := strings.LastIndexByte(bare, '@'); i > 0 && !strings.HasPrefix(version, "link:") {
		return version
	}
	return name + "@" + version
}
