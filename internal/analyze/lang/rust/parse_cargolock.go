package rust

import (
	"errors"
	"strconv"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// ParseCargoLock returns every [[package]] of a Cargo.lock, any format
// version (v1 with its [metadata] checksums, v2, v3, v4). Packages without a
// source are the workspace's own crates (or path dependencies): scope
// "workspace". Cargo writes the file in a fixed shape, so a line reader
// suffices; it keeps memory and work linear in the input whatever it holds.
func ParseCargoLock(b []byte) ([]sbom.Package, error) {
	s := string(b)
	var out []sbom.Package
	seen := map[string]bool{}
	var cur *lockEntry
	inArray := false
	sawPackage := false
	flush := func() {
		if cur == nil || cur.name == "" || cur.version == "" {
			return
		}
		k := cur.name + "\x00" + cur.version + "\x00" + cur.source
		if seen[k] {
			return
		}
		seen[k] = true
		p := newPackage(cur.name, cur.version)
		p.Metadata = map[string]string{}
		if cur.source == "" {
			p.Scope = "workspace"
		} else {
			p.Metadata["source"] = cur.source
		}
		if cur.checksum != "" {
			p.Metadata["checksum"] = cur.checksum
		}
		if len(p.Metadata) == 0 {
			p.Metadata = nil
		}
		out = append(out, p)
	}
	for len(s) > 0 {
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		t := strings.TrimSpace(line)
		if inArray {
			if strings.HasPrefix(t, "]") {
				inArray = false
			}
			continue
		}
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			flush()
			cur = nil
			if t == "[[package]]" {
				cur = &lockEntry{}
				sawPackage = true
			}
			continue
		}
		key, val, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if strings.HasPrefix(val, "[") && !strings.HasSuffix(val, "]") {
			inArray = true
			continue
		}
		if cur == nil {
			continue
		}
		switch key {
		case "name":
			cur.name = tomlString(val)
		case "version":
			cur.version = tomlString(val)
		case "source":
			cur.source = tomlString(val)
		case "checksum":
			cur.checksum = tomlString(val)
		}
	}
	flush()
	if !sawPackage {
		return nil, errors.New("not a Cargo.lock: no [[package]]")
	}
	return out, nil
}

type lockEntry struct{ name, version, source, checksum string }

// tomlString returns the value of a TOML basic ("…") or literal ('…')
// string at the start of v, ignoring what follows (a comment); "" when v is
// not a string.
func tomlString(v string) string {
	if v == "" {
		return ""
	}
	switch v[0] {
	case '\'':
		if i := strings.IndexByte(v[1:], '\''); i >= 0 {
			return v[1 : 1+i]
		}
	case '"':
		for i := 1; i < len(v); i++ {
			if v[i] == '\\' {
				i++
				continue
			}
			if v[i] == '"' {
				if u, err := strconv.Unquote(v[:i+1]); err == nil {
					return u
				}
				return v[1:i]
			}
		}
	}
	return ""
}
