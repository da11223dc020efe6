package apk

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/stella-scan/stella/internal/analyze/lang/license"
	"github.com/stella-scan/stella/internal/sbom"
)

// Bounds: a real database line is under 1 KiB (long dependency lists
// reach a few KiB); a full image has a few thousand packages and a few
// hundred thousand files.
const (
	maxLine     = 256 << 10
	maxPackages = 100_000
	maxFiles    = 2_000_000
)

// ParseInstalled reads apk's installed database (lib/apk/db/installed):
// blank-line-separated records of "X:value" lines. P: name, V: version,
// A: arch, L: licence, o: origin (the source package Alpine's secdb is
// keyed by), m: maintainer, U: url, t: build time, c: commit; F: a
// directory and R: a file in the last F: directory (Package.Files).
func ParseInstalled(r io.Reader) ([]sbom.Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		pkgs   []sbom.Package
		cur    *sbom.Package
		dir    string
		nfiles int
		start  int
	)
	end := func() error {
		if cur == nil {
			return nil
		}
		if cur.Name == "" || cur.Version == "" {
			return fmt.Errorf("record at line %d: no name (P) or version (V)", start)
		}
		if len(pkgs) >= maxPackages {
			return fmt.Errorf("more than %d packages", maxPackages)
		}
		if cur.SourceName == "" {
			cur.SourceName = cur.Name
		}
		cur.SourceVersion = cur.Version
		cur.PURL = sbom.PURL(cur)
		pkgs = append(pkgs, *cur)
		cur, dir = nil, ""
		return nil
	}
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if s == "" {
			if err := end(); err != nil {
				return nil, err
			}
			continue
		}
		if len(s) < 2 || s[1] != ':' {
			return nil, fmt.Errorf("line %d: %.40q is not a \"X:value\" line", line, s)
		}
		if cur == nil {
			cur = &sbom.Package{Ecosystem: sbom.APK}
			start = line
		}
		v := s[2:]
		switch s[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.SourceName = v
		case 'L':
			cur.Licenses = licenses(v)
		case 'm':
			setMeta(cur, "maintainer", v)
		case 'U':
			setMeta(cur, "url", v)
		case 't':
			setMeta(cur, "buildTime", v)
		case 'c':
			setMeta(cur, "commit", v)
		case 'F':
			dir = cleanPath(v)
		case 'R':
			if nfiles++; nfiles > maxFiles {
				return nil, fmt.Errorf("more than %d file entries", maxFiles)
			}
			p := cleanPath(dir + "/" + v)
			if p != "" {
				cur.Files = append(cur.Files, p)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line longer than %d bytes or unreadable: %w", maxLine, err)
	}
	if err := end(); err != nil {
		return nil, err
	}
	return pkgs, nil
}

func setMeta(p *sbom.Package, k, v string) {
	if v == "" {
		return
	}
	if p.Metadata == nil {
		p.Metadata = map[string]string{}
	}
	p.Metadata[k] = v
}

// cleanPath makes a database path relative and clean; "" for the root.
func cleanPath(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "." {
		return ""
	}
	return p
}

// licenses turns an L: value into SPDX ids where it can: newer packages
// write an SPDX expression ("MIT AND BSD-3-Clause"), older ones a
// space-separated list ("MIT BSD GPL2+"), each of which is normalised on
// its own; what is not recognised is kept as written.
func licenses(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if license.Recognised(v) {
		return []string{license.Normalize(v)}
	}
	up := strings.ToUpper(v)
	if strings.Contains(up, " AND ") || strings.Contains(up, " OR ") || strings.Contains(up, " WITH ") {
		return []string{v}
	}
	var out []string
	for _, f := range strings.Fields(v) {
		if n := license.Normalize(f); n != "" {
			out = append(out, n)
		}
	}
	return out
}
