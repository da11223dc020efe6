package alpine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stella-scan/stella/internal/feed"
)

// maxDoc bounds one secdb document; the largest real one is a few MB.
const maxDoc = 64 << 20

// SecDB is one secdb document (v3.x/main.json or .yaml).
type SecDB struct {
	DistroVersion string // "v3.11", "edge"
	RepoName      string // "main", "community"
	Packages      []Package
}

// Package is one package's secfixes: fixed version -> ids.
type Package struct {
	Name  string
	Fixes []Fix
}

// Fix is one secfixes entry.
type Fix struct {
	Version string   // "1.1.23-r2"; "0" means never affected
	IDs     []string // CVE-…, XSA-…, …
}

// Release is the distro release Stella uses for alpine: "3.11" for
// distroversion "v3.11", "edge" for edge.
func (s SecDB) Release() string { return strings.TrimPrefix(s.DistroVersion, "v") }

var reID = regexp.MustCompile(`^[A-Z][A-Z0-9]*-[0-9][A-Za-z0-9._:-]*$`)

// Parse reads a secdb document in either form. YAML is a superset of
// JSON, but the JSON form is decoded with encoding/json for speed; both
// walk the document as generic nodes so that quirks (a secfixes value that
// is an object {} instead of a list, version keys that look like numbers)
// never fail the whole document.
func Parse(r io.Reader) (SecDB, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return SecDB{}, err
	}
	if len(data) > maxDoc {
		return SecDB{}, fmt.Errorf("secdb document exceeds %d bytes", maxDoc)
	}
	if feed.Sniff(data) == feed.KindJSON {
		return parseJSON(data)
	}
	return parseYAML(data)
}

type jsonDB struct {
	DistroVersion string `json:"distroversion"`
	RepoName      string `json:"reponame"`
	Packages      []struct {
		Pkg struct {
			Name     string          `json:"name"`
			SecFixes json.RawMessage `json:"secfixes"`
		} `json:"pkg"`
	} `json:"packages"`
}

func parseJSON(data []byte) (SecDB, error) {
	var db jsonDB
	if err := json.Unmarshal(data, &db); err != nil {
		return SecDB{}, fmt.Errorf("secdb JSON: %w", err)
	}
	out := SecDB{DistroVersion: db.DistroVersion, RepoName: db.RepoName}
	if out.DistroVersion == "" {
		return out, errors.New("secdb JSON: no distroversion (not an Alpine secdb document)")
	}
	for _, p := range db.Packages {
		pkg := Package{Name: p.Pkg.Name}
		var fixes map[string]json.RawMessage
		if len(bytes.TrimSpace(p.Pkg.SecFixes)) > 0 && json.Unmarshal(p.Pkg.SecFixes, &fixes) != nil {
			continue // secfixes not an object: nothing usable
		}
		for ver, raw := range fixes {
			var ids []string
			// A list of strings; {} or anything else carries no ids.
			_ = json.Unmarshal(raw, &ids)
			pkg.Fixes = append(pkg.Fixes, Fix{Version: ver, IDs: cleanIDs(ids)})
		}
		sortFixes(pkg.Fixes)
		out.Packages = append(out.Packages, pkg)
	}
	return out, nil
}

func parseYAML(data []byte) (SecDB, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return SecDB{}, fmt.Errorf("secdb YAML: %w", err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return SecDB{}, errors.New("secdb YAML: not a mapping (not an Alpine secdb document)")
	}
	doc := root.Content[0]
	var out SecDB
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i].Value, doc.Content[i+1]
		switch k {
		case "distroversion":
			out.DistroVersion = v.Value
		case "reponame":
			out.RepoName = v.Value
		case "packages":
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range v.Content {
				if p, ok := yamlPackage(item); ok {
					out.Packages = append(out.Packages, p)
				}
			}
		}
	}
	if out.DistroVersion == "" {
		return out, errors.New("secdb YAML: no distroversion (not an Alpine secdb document)")
	}
	return out, nil
}

func yamlPackage(item *yaml.Node) (Package, bool) {
	pkgNode := mapValue(item, "pkg")
	if pkgNode == nil {
		return Package{}, false
	}
	name := mapValue(pkgNode, "name")
	if name == nil || name.Kind != yaml.ScalarNode {
		return Package{}, false
	}
	p := Package{Name: name.Value}
	if sf := mapValue(pkgNode, "secfixes"); sf != nil && sf.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(sf.Content); i += 2 {
			var ids []string
			if list := sf.Content[i+1]; list.Kind == yaml.SequenceNode {
				for _, id := range list.Content {
					if id.Kind == yaml.ScalarNode {
						ids = append(ids, id.Value)
					}
				}
			}
			// Key text as written: "1.10-r0" or "2.9" must not become a float.
			p.Fixes = append(p.Fixes, Fix{Version: sf.Content[i].Value, IDs: cleanIDs(ids)})
		}
	}
	sortFixes(p.Fixes)
	return p, true
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// cleanIDs keeps the identifiers of each entry: entries are usually one
// id, sometimes several separated by spaces or followed by a comment.
func cleanIDs(raw []string) []string {
	var out []string
	for _, s := range raw {
		for _, f := range strings.Fields(s) {
			if reID.MatchString(f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func sortFixes(f []Fix) { sort.Slice(f, func(i, j int) bool { return f[i].Version < f[j].Version }) }

// Records turns a secdb document into one record per vulnerability id,
// each with the packages of this release and repository that fix it.
func (s SecDB) Records() []feed.Record {
	byID := map[string]*feed.Record{}
	var order []string
	for _, p := range s.Packages {
		for _, f := range p.Fixes {
			for _, id := range f.IDs {
				r := byID[id]
				if r == nil {
					r = &feed.Record{ID: id, Source: Name}
					byID[id] = r
					order = append(order, id)
				}
				a := feed.Affected{
					Ecosystem:    "apk",
					Package:      p.Name,
					Distro:       "alpine",
					Release:      s.Release(),
					FixedVersion: f.Version,
					State:        feed.StateFixed,
				}
				if f.Version == "0" {
					a.FixedVersion, a.State = "", feed.StateNotAffected
				}
				r.Affected = append(r.Affected, a)
			}
		}
	}
	out := make([]feed.Record, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}
