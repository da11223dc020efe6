package version

import (
	"errors"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// goComparator orders Go module versions with golang.org/x/mod/semver, so a
// pseudo-version (v3.0.0-20220521103104-8f96da9f5d5e) sorts before its
// release and "+incompatible" is ignored. The "v" is optional, as OSV writes
// versions without it ("1.21.0-0"). Go toolchain versions as binaries record
// them ("go1.21.0", "go1.21rc2", "go1.20") are mapped to SemVer the way the
// Go vulnerability database does (v1.21.0, v1.21.0-rc.2, v1.20.0).
var goComparator = scheme[string]{
	name:  "golang",
	parse: parseGo,
	cmp:   semver.Compare,
}

func parseGo(v string) (string, error) {
	s := v
	if strings.HasPrefix(s, "go") {
		t, err := goTagToSemver(s)
		if err != nil {
			return "", err
		}
		s = t
	} else if !strings.HasPrefix(s, "v") {
		s = "v" + s
	}
	if !semver.IsValid(s) {
		return "", errors.New("not a Go module version (semantic version, optionally with a v)")
	}
	return s, nil
}

var goTagRegexp = regexp.MustCompile(`^go(\d+)\.(\d+)(?:\.(\d+))?(?:(beta|rc)(\d+))?$`)

// goTagToSemver converts a Go release tag to SemVer, as golang/vulndb does.
// "go1" is v1.0.0; a GOEXPERIMENT suffix ("go1.22.1 X:boringcrypto") is
// dropped.
func goTagToSemver(tag string) (string, error) {
	if f := strings.Fields(tag); len(f) > 0 {
		tag = f[0]
	}
	if tag == "go1" {
		return "v1.0.0", nil
	}
	m := goTagRegexp.FindStringSubmatch(tag)
	if m == nil {
		return "", errors.New("not a Go release version (go1.N[.P] or go1.N(beta|rc)K)")
	}
	s := "v" + m[1] + "." + m[2]
	if m[3] != "" {
		s += "." + m[3]
	} else {
		s += ".0"
	}
	if m[4] != "" {
		s += "-" + m[4] + "." + m[5]
	}
	return s, nil
}
