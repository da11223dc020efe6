package ruby

import (
	"errors"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// ParseGemspec reads an installed gem specification, the Ruby file RubyGems
// writes under specifications/:
//
//	Gem::Specification.new do |s|
//	  s.name = "rack".freeze
//	  s.version = "2.2.22"            (or Gem::Version.new("2.2.22"), %q{2.2.22})
//	  s.licenses = ["MIT".freeze]
//
// Only literal values count; the file is not evaluated.
func ParseGemspec(b []byte) (sbom.Package, error) {
	s := string(b)
	recv := "" // the block variable: "s" in "do |s|"
	var name, version string
	var licenses []string
	for len(s) > 0 {
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		line = strings.TrimSpace(line)
		if recv == "" {
			if strings.Contains(line, "Gem::Specification.new") {
				if i := strings.IndexByte(line, '|'); i >= 0 {
					if j := strings.IndexByte(line[i+1:], '|'); j > 0 {
						recv = strings.TrimSpace(line[i+1 : i+1+j])
					}
				}
				if recv == "" {
					recv = "s"
				}
			}
			continue
		}
		attr, val, ok := assignment(line, recv)
		if !ok {
			continue
		}
		switch attr {
		case "name":
			if name == "" {
				name = firstString(val)
			}
		case "version":
			if version == "" {
				version = firstString(val)
			}
		case "license", "licenses":
			if licenses == nil {
				licenses = allStrings(val)
			}
		}
	}
	if recv == "" {
		return sbom.Package{}, errors.New("not a gemspec: no Gem::Specification.new block")
	}
	if name == "" || version == "" {
		return sbom.Package{}, errors.New("gemspec without a literal name and version")
	}
	p := newPackage(name, version)
	p.Licenses = licenses
	return p, nil
}

// assignment splits "<recv>.<attr> = <value>" and drops a trailing
// modifier (" if s.respond_to? …").
func assignment(line, recv string) (attr, val string, ok bool) {
	if !strings.HasPrefix(line, recv+".") {
		return "", "", false
	}
	rest := line[len(recv)+1:]
	i := 0
	for i < len(rest) && (rest[i] == '_' || rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z' || rest[i] >= '0' && rest[i] <= '9') {
		i++
	}
	attr, rest = rest[:i], strings.TrimLeft(rest[i:], " \t")
	if !strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "==") {
		return "", "", false
	}
	return attr, strings.TrimSpace(rest[1:]), true
}

// firstString returns the first Ruby string literal in expr: "x", 'x' or
// %q{x} (any of the bracket pairs).
func firstString(expr string) string {
	ss := stringLiterals(expr, 1)
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func allStrings(expr string) []string { return stringLiterals(expr, 64) }

// stringLiterals returns up to max string literals of expr.
func stringLiterals(expr string, max int) []string {
	var out []string
	for i := 0; i < len(expr) && len(out) < max; i++ {
		c := expr[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			var sb strings.Builder
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && j+1 < len(expr) {
					j++
				}
				sb.WriteByte(expr[j])
				j++
			}
			if j >= len(expr) {
				return out
			}
			out = append(out, sb.String())
			i = j
		case c == '%' && i+2 < len(expr) && (expr[i+1] == 'q' || expr[i+1] == 'Q'):
			open := expr[i+2]
			closeCh := map[byte]byte{'{': '}', '(': ')', '[': ']', '<': '>'}[open]
			if closeCh == 0 {
				closeCh = open
			}
			j := strings.IndexByte(expr[i+3:], closeCh)
			if j < 0 {
				return out
			}
			out = append(out, expr[i+3:i+3+j])
			i += 3 + j
		case c == '#':
			return out // comment
		}
	}
	return out
}
