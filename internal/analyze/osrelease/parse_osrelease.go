package osrelease

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// Release files are a few hundred bytes; these bounds only stop garbage.
const (
	maxLine  = 4096
	maxLines = 1024
)

// ParseOSRelease reads an os-release file (freedesktop.org's format:
// KEY=value lines, values optionally quoted with shell escaping) into a
// Distro: ID, VERSION_ID, VERSION_CODENAME (or the codename in VERSION's
// parentheses, as older Debian and Ubuntu write it), PRETTY_NAME. A file
// without ID gives an error.
func ParseOSRelease(r io.Reader) (*sbom.Distro, error) {
	kv, err := readKV(r)
	if err != nil {
		return nil, err
	}
	d := &sbom.Distro{
		ID:       strings.ToLower(kv["ID"]),
		Version:  kv["VERSION_ID"],
		Codename: kv["VERSION_CODENAME"],
		Name:     kv["PRETTY_NAME"],
	}
	if d.ID == "" {
		return nil, fmt.Errorf("no ID field")
	}
	if d.Codename == "" && (d.ID == "debian" || d.ID == "ubuntu") {
		d.Codename = parenCodename(kv["VERSION"])
	}
	if d.ID == "ubuntu" && d.Codename == "" {
		d.Codename = kv["UBUNTU_CODENAME"]
	}
	if d.Name == "" {
		d.Name = kv["NAME"]
	}
	return d, nil
}

// parenCodename reads "8 (jessie)" or "16.04.7 LTS (Xenial Xerus)" and
// returns the first word in the parentheses, lower case.
func parenCodename(v string) string {
	i := strings.IndexByte(v, '(')
	j := strings.LastIndexByte(v, ')')
	if i < 0 || j < i {
		return ""
	}
	f := strings.Fields(v[i+1 : j])
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(strings.Trim(f[0], ","))
}

// readKV reads KEY=value lines (os-release, lsb-release).
func readKV(r io.Reader) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	kv := map[string]string{}
	for n := 1; sc.Scan(); n++ {
		if n > maxLines {
			return nil, fmt.Errorf("more than %d lines", maxLines)
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.IndexByte(line, '=')
		if i <= 0 {
			continue // not an assignment: ignored, as systemd does
		}
		kv[strings.TrimSpace(line[:i])] = unquote(strings.TrimSpace(line[i+1:]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line longer than %d bytes or unreadable: %w", maxLine, err)
	}
	return kv, nil
}

// unquote removes one level of single or double quotes and, inside double
// quotes, backslash escapes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' && strings.IndexByte(v, '\\') >= 0 {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}
