package java

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// PomLicenses returns the licences a pom.xml declares, as SPDX ids where
// the name or URL is recognised, else as written. A pom that does not parse
// declares none.
func PomLicenses(b []byte) []string {
	var pom struct {
		Licenses []struct {
			Name string `xml:"name"`
			URL  string `xml:"url"`
		} `xml:"licenses>license"`
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	if err := d.Decode(&pom); err != nil {
		return nil
	}
	var out []string
	for _, l := range pom.Licenses {
		id := spdxID(l.Name, l.URL)
		if id == "" {
			continue
		}
		out = appendUnique(out, id)
	}
	return out
}

// licenseList splits a manifest Bundle-License ("Apache-2.0, MIT" or a
// URL) and maps each to SPDX.
func licenseList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if i := strings.IndexByte(part, ';'); i >= 0 {
			part = strings.TrimSpace(part[:i])
		}
		if id := spdxID(part, part); id != "" {
			out = appendUnique(out, id)
		}
	}
	return out
}

func appendUnique(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}

// licenseNames maps lower-cased licence names and URL fragments seen in
// pom.xml files to SPDX ids.
var licenseNames = []struct{ match, id string }{
	{"apache-2.0", "Apache-2.0"},
	{"apache license, version 2.0", "Apache-2.0"},
	{"apache license version 2.0", "Apache-2.0"},
	{"the apache software license, version 2.0", "Apache-2.0"},
	{"apache license 2.0", "Apache-2.0"},
	{"apache 2.0", "Apache-2.0"},
	{"apache 2", "Apache-2.0"},
	{"apache-2", "Apache-2.0"},
	{"apache.org/licenses/license-2.0", "Apache-2.0"},
	{"mit license", "MIT"},
	{"the mit license", "MIT"},
	{"mit", "MIT"},
	{"opensource.org/licenses/mit", "MIT"},
	{"bsd-3-clause", "BSD-3-Clause"},
	{"bsd 3-clause", "BSD-3-Clause"},
	{"new bsd license", "BSD-3-Clause"},
	{"the bsd 3-clause license", "BSD-3-Clause"},
	{"bsd-2-clause", "BSD-2-Clause"},
	{"eclipse public license - v 1.0", "EPL-1.0"},
	{"eclipse public license 1.0", "EPL-1.0"},
	{"epl-1.0", "EPL-1.0"},
	{"eclipse public license - v 2.0", "EPL-2.0"},
	{"eclipse public license v2.0", "EPL-2.0"},
	{"epl-2.0", "EPL-2.0"},
	{"eclipse.org/legal/epl-2.0", "EPL-2.0"},
	{"eclipse distribution license - v 1.0", "BSD-3-Clause"},
	{"gnu lesser general public license, version 2.1", "LGPL-2.1-only"},
	{"lgpl-2.1", "LGPL-2.1-only"},
	{"cddl-1.0", "CDDL-1.0"},
	{"cddl-1.1", "CDDL-1.1"},
	{"mozilla public license version 2.0", "MPL-2.0"},
	{"mpl-2.0", "MPL-2.0"},
	{"mozilla.org/mpl/2.0", "MPL-2.0"},
	{"public domain", ""},
}

// spdxID maps a licence name (or, failing that, its URL) to an SPDX id; an
// unknown name is returned as written.
func spdxID(name, url string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	u := strings.ToLower(strings.TrimSpace(url))
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	u = strings.TrimPrefix(u, "www.")
	u = strings.TrimSuffix(strings.TrimSuffix(u, ".txt"), ".html")
	for _, l := range licenseNames {
		if n == l.match || (u != "" && strings.Contains(l.match, "/") && strings.HasPrefix(u, l.match)) {
			if l.id == "" {
				return strings.TrimSpace(name)
			}
			return l.id
		}
	}
	return strings.TrimSpace(name)
}
