package npm

import (
	"bufio"
	"fmt"
	"github.com/stella-scan/stella/internal/analyze"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// maxLine bounds one line of a text lock file.
const maxLine = 1 << 20

// ParseYarnLock reads a yarn.lock, classic (v1) or berry (v2+, YAML). Each
// entry block is one package: the name from its first "name@range" key,
// the version from its version field. Berry workspace entries
// ("@workspace:") and soft links are the project's own code and are left
// out. yarn records no dev/prod scope.
func ParseYarnLock(r io.Reader) ([]sbom.Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		d                    analyze.Dedup
		name, version, where string
		skip, inBlock        bool
		lineNo               int
	)
	flush := func() error {
		if inBlock && !skip {
			if version == "" {
				return fmt.Errorf("yarn.lock line %s: entry %q has no version", where, name)
			}
			d.Add(newPackage(name, version, SourceLockfile))
		}
		inBlock, skip, name, version = false, false, "", ""
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			if err := flush(); err != nil {
				return nil, err
			}
			if !strings.HasSuffix(line, ":") {
				return nil, fmt.Errorf("yarn.lock line %d: unexpected %q", lineNo, clip(line))
			}
			keys := strings.TrimSuffix(line, ":")
			if keys == "__metadata" {
				inBlock, skip = true, true
				continue
			}
			first, _, _ := strings.Cut(keys, ",")
			first = strings.Trim(strings.TrimSpace(first), `"'`)
			name = entryName(first)
			if name == "" {
				return nil, fmt.Errorf("yarn.lock line %d: no package name in %q", lineNo, clip(line))
			}
			inBlock, where = true, fmt.Sprint(lineNo)
			skip = strings.Contains(keys, "@workspace:") || strings.Contains(keys, "@link:") || strings.Contains(keys, "@portal:")
			continue
		}
		if !inBlock {
			return nil, fmt.Errorf("yarn.lock line %d: indented line outside an entry", lineNo)
		}
		// Only the entry's own fields (two-space indent) matter.
		if strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t\t") {
			continue
		}
		field := strings.TrimSpace(line)
		k, v, ok := cutField(field)
		if !ok {
			continue
		}
		switch k {
		case "version":
			version = v
		case "linkType":
			if v == "soft" {
				skip = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("yarn.lock line %d: %w", lineNo+1, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	sortPackages(d.Pkgs)
	return d.Pkgs, nil
}

// entryName takes the package name from a key "name@range": the text up to
// the first "@" after the first character (scoped names start with "@").
func entryName(key string) string {
	if len(key) < 2 {
		return ""
	}
	i := strings.IndexByte(key[1:], '@')
	if i < 0 {
		return key
	}
	return key[:i+1]
}

// cutField splits `version "1.2.3"` (v1) or `version: 1.2.3` (berry).
func cutField(s string) (key, val string, ok bool) {
	i := strings.IndexAny(s, " :")
	if i <= 0 {
		return "", "", false
	}
	key = strings.Trim(s[:i], `"`)
	val = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s[i:]), ":"))
	return key, strings.Trim(val, `"'`), true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
