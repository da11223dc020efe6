package npm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/analyze/lang/license"
	"github.com/stella-scan/stella/internal/sbom"
)

// packageJSON holds the fields of an installed package's manifest that
// matter here.
type packageJSON struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	License json.RawMessage `json:"license"`
	// Licenses is the deprecated array form: [{"type": "MIT", "url": …}].
	Licenses json.RawMessage `json:"licenses"`
}

// ParsePackageJSON reads an installed package's package.json. It returns
// nil (and no error) when the manifest has no name or version, as private
// or placeholder manifests do.
func ParsePackageJSON(r io.Reader) (*sbom.Package, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var pj packageJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	pj.Name, pj.Version = strings.TrimSpace(pj.Name), strings.TrimSpace(pj.Version)
	if pj.Name == "" || pj.Version == "" {
		return nil, nil
	}
	p := newPackage(pj.Name, pj.Version, SourceInstalled)
	p.Licenses = licenses(pj.License, pj.Licenses)
	return &p, nil
}

// licenses reads the "license" field (a string, or the legacy object
// {"type": …}) and the legacy "licenses" array.
func licenses(single, multi json.RawMessage) []string {
	var out []string
	add := func(s string) {
		if n := license.Normalize(s); n != "" {
			out = append(out, n)
		}
	}
	if len(single) > 0 {
		if s, err := stringOrType(single); err == nil {
			add(s)
		}
	}
	if len(out) == 0 && len(multi) > 0 {
		var arr []json.RawMessage
		if json.Unmarshal(multi, &arr) == nil {
			for _, e := range arr {
				if s, err := stringOrType(e); err == nil {
					add(s)
				}
			}
		} else if s, err := stringOrType(multi); err == nil {
			add(s)
		}
	}
	return out
}

func stringOrType(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var o struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &o) == nil && o.Type != "" {
		return o.Type, nil
	}
	return "", errors.New("no licence")
}
