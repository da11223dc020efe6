package ruby

import (
	"errors"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// ParseGemfileLock returns every gem of a Bundler lock file: the 4-space
// spec lines ("    name (version[-platform])") of the GEM, GIT and PATH
// sections. PATH gems are the repository's own code: scope "workspace".
// 6-space lines are dependency constraints, not packages.
func ParseGemfileLock(b []byte) ([]sbom.Package, error) {
	s := string(b)
	var section string
	inSpecs, sawSection := false, false
	var out []sbom.Package
	index := map[string]int{} // name+version → position in out
	for len(s) > 0 {
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if line[0] != ' ' {
			section, inSpecs = line, false
			sawSection = true
			continue
		}
		if section != "GEM" && section != "GIT" && section != "PATH" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch indent {
		case 2:
			inSpecs = line == "  specs:"
		case 4:
			if !inSpecs {
				continue
			}
			name, version, platform, ok := splitSpec(line[4:])
			if !ok {
				continue
			}
			scope := ""
			if section == "PATH" {
				scope = "workspace"
			}
			k := name + "\x00" + version
			if i, dup := index[k]; dup {
				// Keep the strongest scope: workspace over none.
				if scope != "" {
					out[i].Scope = scope
				}
				continue
			}
			p := newPackage(name, version)
			p.Scope = scope
			p.Metadata = map[string]string{"source": strings.ToLower(section)}
			if platform != "" {
				p.Metadata["platform"] = platform
			}
			index[k] = len(out)
			out = append(out, p)
		}
	}
	if !sawSection {
		return nil, errors.New("not a Gemfile.lock: no section header")
	}
	return out, nil
}

// splitSpec splits "name (version-platform)" as Bundler's lockfile parser
// does: the version runs to the first "-", the platform follows.
func splitSpec(s string) (name, version, platform string, ok bool) {
	name, rest, found := strings.Cut(s, " (")
	if !found || !strings.HasSuffix(rest, ")") || name == "" || strings.ContainsAny(name, " \t") {
		return "", "", "", false
	}
	rest = strings.TrimSuffix(rest, ")")
	version, platform, _ = strings.Cut(rest, "-")
	if version == "" {
		return "", "", "", false
	}
	return name, version, platform, true
}
