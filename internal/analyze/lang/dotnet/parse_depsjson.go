package dotnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// ParseDepsJSON returns every library of a .deps.json whose type is
// "package", named by its "Name/Version" key. The application itself
// (type "project") and other projects or references are not packages.
// Packages that ship no runtime assets (NETStandard.Library, say) are
// still pinned dependencies and are returned.
func ParseDepsJSON(b []byte) ([]sbom.Package, error) {
	var deps struct {
		Libraries *map[string]struct {
			Type     string `json:"type"`
			SHA512   string `json:"sha512"`
			Path     string `json:"path"`
			HashPath string `json:"hashPath"`
		} `json:"libraries"`
	}
	if err := json.Unmarshal(b, &deps); err != nil {
		return nil, fmt.Errorf("deps.json: %w", err)
	}
	if deps.Libraries == nil {
		return nil, errors.New("deps.json: no \"libraries\"")
	}
	keys := make([]string, 0, len(*deps.Libraries))
	for k := range *deps.Libraries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []sbom.Package
	for _, k := range keys {
		lib := (*deps.Libraries)[k]
		if !strings.EqualFold(lib.Type, "package") {
			continue
		}
		name, version, ok := strings.Cut(k, "/")
		if !ok || name == "" || version == "" {
			continue
		}
		var md map[string]string
		if lib.SHA512 != "" {
			md = map[string]string{"sha512": lib.SHA512}
		}
		out = append(out, newPackage(name, version, md))
	}
	return out, nil
}
