package version

import (
	"errors"
	"strings"
)

// nugetComparator orders NuGet versions as NuGet.Versioning's
// VersionComparer does: Major.Minor[.Patch[.Revision]] with missing parts 0
// (so "1.0" = "1.0.0" = "1.0.0.0"), a release above its pre-releases,
// pre-release labels compared one by one (numbers numerically and below
// words, words case-insensitively, fewer labels first), metadata ignored.
// Written here: no NuGet version library is served by the Go module proxy.
var nugetComparator = scheme[nugetVersion]{
	name:  "nuget",
	parse: parseNuGet,
	cmp:   compareNuGet,
}

type nugetVersion struct {
	parts   [4]string // digits, leading zeros kept
	release []string  // pre-release labels
}

func parseNuGet(v string) (nugetVersion, error) {
	var nv nugetVersion
	s := strings.TrimSpace(v)
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validLabels(s[i+1:]) {
			return nv, errors.New("bad build metadata after +")
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		if !validLabels(s[i+1:]) {
			return nv, errors.New("bad pre-release label after -")
		}
		nv.release = strings.Split(s[i+1:], ".")
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return nv, errors.New("want 1 to 4 numeric parts (Major.Minor[.Patch[.Revision]])")
	}
	nv.parts = [4]string{"0", "0", "0", "0"}
	for i, p := range parts {
		if !isDigits(p) || compareDigits(p, "2147483647") > 0 {
			return nv, errors.New("numeric part is not a number up to 2147483647")
		}
		nv.parts[i] = p
	}
	return nv, nil
}

// validLabels reports whether s is dot-separated non-empty [0-9A-Za-z-]+.
func validLabels(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
	}
	return true
}

func compareNuGet(a, b nugetVersion) int {
	for i := range a.parts {
		if c := compareDigits(a.parts[i], b.parts[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.release) == 0 && len(b.release) == 0:
		return 0
	case len(a.release) == 0:
		return 1
	case len(b.release) == 0:
		return -1
	}
	for i := 0; i < min(len(a.release), len(b.release)); i++ {
		l, r := a.release[i], b.release[i]
		ln, rn := isDigits(l), isDigits(r)
		var c int
		switch {
		case ln && rn:
			c = compareDigits(l, r)
		case ln:
			c = -1
		case rn:
			c = 1
		default:
			c = strings.Compare(strings.ToUpper(l), strings.ToUpper(r))
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(a.release) - len(b.release))
}
