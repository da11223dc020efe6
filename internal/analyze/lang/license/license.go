// Package license turns the licence text that language package metadata
// records (package.json "license", Python METADATA "License" and
// classifiers, …) into SPDX identifiers where it can recognise them.
// Language analyzers share it; it holds no analyzer.
package license

import "strings"

// ids are the SPDX identifiers seen in practice in language ecosystems,
// keyed by their upper-case spelling so lookups are case-insensitive.
var ids = func() map[string]string {
	m := map[string]string{}
	for _, id := range []string{
		"0BSD", "AFL-2.1", "AFL-3.0", "AGPL-1.0", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later",
		"Apache-1.0", "Apache-1.1", "Apache-2.0", "APSL-2.0", "Artistic-1.0", "Artistic-2.0",
		"BlueOak-1.0.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-2-Clause-Patent", "BSD-3-Clause",
		"BSD-3-Clause-Clear", "BSD-4-Clause", "BSL-1.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0",
		"CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1", "CECILL-2.1", "CPL-1.0", "ECL-2.0",
		"EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2", "GPL-1.0", "GPL-1.0-or-later", "GPL-2.0",
		"GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later",
		"HPND", "ISC", "LGPL-2.0", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1", "LGPL-2.1-only",
		"LGPL-2.1-or-later", "LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0",
		"MIT-CMU", "MPL-1.0", "MPL-1.1", "MPL-2.0", "MPL-2.0-no-copyleft-exception", "MS-PL", "MS-RL",
		"NCSA", "ODbL-1.0", "OFL-1.1", "OpenSSL", "OSL-3.0", "PHP-3.0", "PHP-3.01", "PostgreSQL",
		"PSF-2.0", "Python-2.0", "Ruby", "Unicode-DFS-2016", "Unlicense", "UPL-1.0", "W3C", "WTFPL",
		"X11", "Zlib", "ZPL-2.0", "ZPL-2.1",
		// exceptions that follow WITH
		"Classpath-exception-2.0", "LLVM-exception", "GCC-exception-3.1",
	} {
		m[strings.ToUpper(id)] = id
	}
	return m
}()

// aliases maps common free-text spellings (upper case, single spaces) to ids.
var aliases = map[string]string{
	"APACHE 2":                             "Apache-2.0",
	"APACHE 2.0":                           "Apache-2.0",
	"APACHE-2":                             "Apache-2.0",
	"APACHE LICENSE 2.0":                   "Apache-2.0",
	"APACHE LICENSE, VERSION 2.0":          "Apache-2.0",
	"APACHE LICENSE VERSION 2.0":           "Apache-2.0",
	"APACHE SOFTWARE LICENSE":              "Apache-2.0",
	"APACHE SOFTWARE LICENSE 2.0":          "Apache-2.0",
	"APACHE":                               "Apache-2.0",
	"ASL 2.0":                              "Apache-2.0",
	"BSD":                                  "BSD-3-Clause",
	"BSD LICENSE":                          "BSD-3-Clause",
	"NEW BSD":                              "BSD-3-Clause",
	"NEW BSD LICENSE":                      "BSD-3-Clause",
	"3-CLAUSE BSD":                         "BSD-3-Clause",
	"3-CLAUSE BSD LICENSE":                 "BSD-3-Clause",
	"BSD 3-CLAUSE":                         "BSD-3-Clause",
	"BSD-3":                                "BSD-3-Clause",
	"SIMPLIFIED BSD":                       "BSD-2-Clause",
	"BSD 2-CLAUSE":                         "BSD-2-Clause",
	"BSD-2":                                "BSD-2-Clause",
	"MIT LICENSE":                          "MIT",
	"THE MIT LICENSE":                      "MIT",
	"MIT/X11":                              "MIT",
	"EXPAT":                                "MIT",
	"ISC LICENSE":                          "ISC",
	"ISC LICENSE (ISCL)":                   "ISC",
	"MPL 2.0":                              "MPL-2.0",
	"MPL2":                                 "MPL-2.0",
	"MOZILLA PUBLIC LICENSE 2.0":           "MPL-2.0",
	"MOZILLA PUBLIC LICENSE 2.0 (MPL 2.0)": "MPL-2.0",
	"GPLV2":                                "GPL-2.0-only",
	"GPLV2+":                               "GPL-2.0-or-later",
	"GPLV3":                                "GPL-3.0-only",
	"GPLV3+":                               "GPL-3.0-or-later",
	"GPL-2.0+":                             "GPL-2.0-or-later",
	"GPL-3.0+":                             "GPL-3.0-or-later",
	"LGPL-2.1+":                            "LGPL-2.1-or-later",
	"LGPL-3.0+":                            "LGPL-3.0-or-later",
	"LGPLV2+":                              "LGPL-2.0-or-later",
	"LGPLV3":                               "LGPL-3.0-only",
	"LGPLV3+":                              "LGPL-3.0-or-later",
	"PSF":                                  "PSF-2.0",
	"PSF LICENSE":                          "PSF-2.0",
	"PYTHON SOFTWARE FOUNDATION LICENSE":   "PSF-2.0",
	"PUBLIC DOMAIN":                        "Unlicense",
	"ZPL 2.1":                              "ZPL-2.1",
	"ZOPE PUBLIC LICENSE":                  "ZPL-2.1",
	"CC0":                                  "CC0-1.0",
	"UNLICENSE":                            "Unlicense",
	"THE UNLICENSE":                        "Unlicense",
	"BOOST SOFTWARE LICENSE 1.0":           "BSL-1.0",
	"ECLIPSE PUBLIC LICENSE 2.0":           "EPL-2.0",
	"WTFPL LICENSE":                        "WTFPL",
}

// classifiers maps the trove classifiers "License :: …" to ids. Classifiers
// without a version (plain "GNU General Public License (GPL)") are left out:
// they name a family, not a licence.
var classifiers = map[string]string{
	"License :: OSI Approved :: Apache Software License":                                 "Apache-2.0",
	"License :: OSI Approved :: BSD License":                                             "BSD-3-Clause",
	"License :: OSI Approved :: MIT License":                                             "MIT",
	"License :: OSI Approved :: MIT No Attribution License (MIT-0)":                      "MIT-0",
	"License :: OSI Approved :: ISC License (ISCL)":                                      "ISC",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)":                    "MPL-2.0",
	"License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)":                    "MPL-1.1",
	"License :: OSI Approved :: Python Software Foundation License":                      "PSF-2.0",
	"License :: OSI Approved :: GNU General Public License v2 (GPLv2)":                   "GPL-2.0-only",
	"License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)":         "GPL-2.0-or-later",
	"License :: OSI Approved :: GNU General Public License v3 (GPLv3)":                   "GPL-3.0-only",
	"License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)":         "GPL-3.0-or-later",
	"License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)":           "LGPL-2.0-only",
	"License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
	"License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)":           "LGPL-3.0-only",
	"License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
	"License :: OSI Approved :: GNU Affero General Public License v3":                    "AGPL-3.0-only",
	"License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
	"License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)":                    "EPL-2.0",
	"License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)":                    "BSL-1.0",
	"License :: OSI Approved :: Zope Public License":                                     "ZPL-2.1",
	"License :: OSI Approved :: The Unlicense (Unlicense)":                               "Unlicense",
	"License :: OSI Approved :: Universal Permissive License (UPL)":                      "UPL-1.0",
	"License :: OSI Approved :: zlib/libpng License":                                     "Zlib",
	"License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)":      "HPND",
	"License :: OSI Approved :: Artistic License":                                        "Artistic-2.0",
	"License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication":                    "CC0-1.0",
	"License :: Public Domain":                                                           "Unlicense",
}

// maxText bounds what is treated as a licence name: longer values are whole
// licence texts pasted into the field, which no id can be read from.
const maxText = 128

// Normalize returns the SPDX id or expression for s, or s itself (trimmed)
// when it is not recognised. It returns "" for empty, "UNKNOWN" and
// over-long values.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxText || strings.ContainsAny(s, "\n\r") {
		return ""
	}
	switch strings.ToUpper(s) {
	case "UNKNOWN", "UNLICENSED", "NONE", "SEE LICENSE", "SEE LICENSE FILE", "PROPRIETARY":
		return ""
	}
	if id, ok := lookup(s); ok {
		return id
	}
	if e, ok := expression(s); ok {
		return e
	}
	return s
}

// Recognised reports whether Normalize(s) yields an SPDX id or expression.
func Recognised(s string) bool {
	s = strings.TrimSpace(s)
	if _, ok := lookup(s); ok {
		return true
	}
	_, ok := expression(s)
	return ok
}

// FromClassifier maps a trove classifier ("License :: OSI Approved :: MIT
// License") to its id, or "" when it names no single licence.
func FromClassifier(c string) string {
	return classifiers[strings.Join(strings.Fields(c), " ")]
}

func lookup(s string) (string, bool) {
	u := strings.ToUpper(strings.Join(strings.Fields(s), " "))
	if id, ok := ids[u]; ok {
		return id, true
	}
	if id, ok := aliases[u]; ok {
		return id, true
	}
	// "(MIT)" and "MIT License" spellings
	if t := strings.TrimSuffix(strings.TrimPrefix(u, "("), ")"); t != u {
		if id, ok := ids[t]; ok {
			return id, true
		}
	}
	if t := strings.TrimSuffix(u, " LICENSE"); t != u {
		if id, ok := ids[t]; ok {
			return id, true
		}
	}
	return "", false
}

// expression canonicalises an SPDX expression ("mit OR Apache-2.0",
// "(MIT AND Zlib)") when every operand is a known id.
func expression(s string) (string, bool) {
	s = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s)
	toks := strings.Fields(s)
	if len(toks) < 3 {
		return "", false
	}
	var b strings.Builder
	depth, operand := 0, false
	for _, t := range toks {
		switch u := strings.ToUpper(t); u {
		case "AND", "OR", "WITH":
			if !operand {
				return "", false
			}
			operand = false
			b.WriteString(" " + u + " ")
		case "(":
			depth++
			b.WriteString("(")
		case ")":
			depth--
			if depth < 0 || !operand {
				return "", false
			}
			b.WriteString(")")
		default:
			if operand {
				return "", false
			}
			plus := strings.HasSuffix(u, "+")
			id, ok := ids[strings.TrimSuffix(u, "+")]
			if !ok {
				return "", false
			}
			if plus {
				id += "+"
			}
			operand = true
			b.WriteString(id)
		}
	}
	if depth != 0 || !operand {
		return "", false
	}
	return strings.NewReplacer("( ", "(", " )", ")").Replace(b.String()), true
}
