package python

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/stella-scan/stella/internal/analyze"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// maxContinued bounds one logical requirement line joined from
// backslash-continued physical lines.
const maxContinued = 1 << 20

// ParseRequirements reads a pip requirements file and returns the
// requirements pinned with "==" (or "==="): "Django==3.0.1",
// "requests[socks] == 2.22.0 ; python_version >= '3'", with or without
// --hash options and line continuations. Ranges, unpinned names, URLs,
// editable installs and options (-r, -c, -e, --index-url…) add nothing:
// they do not say what is installed.
func ParseRequirements(r io.Reader) ([]sbom.Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		d       analyze.Dedup
		logical strings.Builder
		lineNo  int
	)
	handle := func(line string) {
		if name, version, ok := parseRequirement(line); ok {
			d.Add(newPackage(name, version, SourceLockfile))
		}
	}
	for sc.Scan() {
		lineNo++
		raw := sc.Bytes()
		if bytes.IndexByte(raw, 0) >= 0 {
			return nil, fmt.Errorf("requirements line %d: NUL byte, not a text file", lineNo)
		}
		line := strings.TrimRight(string(raw), "\r")
		// A comment ends the logical line even after a continuation.
		line = stripComment(line)
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			if logical.Len()+len(cont) > maxContinued {
				return nil, errors.New("requirements: continued line too long")
			}
			logical.WriteString(cont)
			logical.WriteByte(' ')
			continue
		}
		logical.WriteString(line)
		handle(logical.String())
		logical.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("requirements line %d: %w", lineNo+1, err)
	}
	if logical.Len() > 0 {
		handle(logical.String())
	}
	sortPackages(d.Pkgs)
	return d.Pkgs, nil
}

// stripComment removes a "#" comment: at the start of the line or after
// whitespace (a "#" inside a URL fragment is not a comment).
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// parseRequirement returns name and version of a line pinned with "==".
func parseRequirement(line string) (name, version string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '-' {
		return "", "", false
	}
	// environment markers
	if i := strings.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	// per-requirement options: --hash=…, --global-option…
	if i := strings.Index(line, " -"); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	// name: letters, digits, ".", "-", "_"
	n := 0
	for n < len(line) && isNameByte(line[n]) {
		n++
	}
	if n == 0 {
		return "", "", false
	}
	name, rest := line[:n], strings.TrimSpace(line[n:])
	if strings.HasPrefix(rest, "[") { // extras
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "", "", false
		}
		rest = strings.TrimSpace(rest[j+1:])
	}
	// exactly one specifier, "==" (or "===")
	if strings.Contains(rest, ",") || strings.Contains(rest, "@") {
		return "", "", false
	}
	v, found := strings.CutPrefix(rest, "==")
	if !found {
		return "", "", false
	}
	v = strings.TrimSpace(strings.TrimPrefix(v, "="))
	if v == "" || strings.ContainsAny(v, "*<>=!~ \t") {
		return "", "", false
	}
	return name, v, true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

var _ = sbom.PyPI
