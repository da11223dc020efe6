package java

import "strings"

// ParseManifest returns the main section of a JAR manifest (META-INF/
// MANIFEST.MF): "Name: value" lines up to the first blank line, a line
// starting with one space continuing the previous value. Keys are returned
// in the canonical spelling of the attributes Stella reads
// (Implementation-Version, Bundle-SymbolicName…), matched without case.
func ParseManifest(b []byte) map[string]string {
	out := map[string]string{}
	var key string
	var val strings.Builder
	flush := func() {
		if key != "" {
			out[canonicalAttr(key)] = strings.TrimSpace(val.String())
		}
		key = ""
		val.Reset()
	}
	s := string(b)
	for len(s) > 0 {
		var line string
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			line = s[:i]
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				s = s[i+2:]
			} else {
				s = s[i+1:]
			}
		} else {
			line, s = s, ""
		}
		if line == "" {
			break // end of the main section
		}
		if line[0] == ' ' {
			if key != "" {
				val.WriteString(line[1:])
			}
			continue
		}
		flush()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(k)
		val.WriteString(strings.TrimPrefix(v, " "))
	}
	flush()
	return out
}

var knownAttrs = []string{
	"Implementation-Title", "Implementation-Version", "Implementation-Vendor",
	"Implementation-Vendor-Id", "Bundle-SymbolicName", "Bundle-Version",
	"Bundle-Name", "Bundle-License", "Specification-Title", "Specification-Version",
	"Automatic-Module-Name",
}

func canonicalAttr(k string) string {
	for _, a := range knownAttrs {
		if strings.EqualFold(k, a) {
			return a
		}
	}
	return k
}
