// Package license decides how an SBOM codec writes one of a package's
// licences: as an SPDX licence identifier, as an SPDX expression, or as
// free text that needs a LicenseRef- or a name.
package license

import (
	"regexp"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"
)

// ID returns the canonical spelling of s when s is one SPDX licence
// identifier from the SPDX licence list (active or deprecated).
func ID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, " ()") {
		return "", false
	}
	if ok, id := spdxexp.ActiveLicense(s); ok {
		return id, true
	}
	if ok, id := spdxlicenses.IsDeprecatedLicense(s); ok {
		return id, true
	}
	return "", false
}

// Expression reports whether s is a valid SPDX licence expression made
// only of listed identifiers (or LicenseRef- references), such as
// "MIT OR Apache-2.0" or "GPL-2.0-or-later WITH Classpath-exception-2.0".
func Expression(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	ok, _ := spdxexp.ValidateLicenses([]string{s})
	return ok
}

// Compound reports whether s is an expression with an operator rather than
// a single identifier.
func Compound(s string) bool {
	u := " " + strings.ToUpper(s) + " "
	return strings.Contains(u, " AND ") || strings.Contains(u, " OR ") || strings.Contains(u, " WITH ")
}

var refUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// Ref turns free licence text into an SPDX LicenseRef- identifier
// ("LicenseRef-" followed by letters, digits, "." and "-").
func Ref(text string) string {
	s := strings.Trim(refUnsafe.ReplaceAllString(strings.TrimSpace(text), "-"), "-")
	if s == "" {
		s = "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return "LicenseRef-" + s
}
