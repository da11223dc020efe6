package version

import (
	"errors"
	"strings"

	rpm "github.com/knqyf263/go-rpm-version"
)

// rpmComparator orders RPM versions ([epoch:]version[-release]) with
// knqyf263/go-rpm-version, a port of rpm's rpmvercmp including "~" (sorts
// before) and "^" (sorts after the base version). An absent epoch is 0.
var rpmComparator = scheme[rpm.Version]{
	name:  "rpm",
	parse: parseRPM,
	cmp:   func(a, b rpm.Version) int { return a.Compare(b) },
}

// parseRPM adds the checks the library leaves out: it never fails, and reads
// a non-numeric epoch as 0.
func parseRPM(v string) (rpm.Version, error) {
	if strings.TrimSpace(v) != v {
		return rpm.Version{}, errors.New("leading or trailing space")
	}
	if i := strings.IndexByte(v, ':'); i >= 0 && !isDigits(v[:i]) {
		return rpm.Version{}, errors.New("epoch is not a number")
	}
	pv := rpm.NewVersion(v)
	if pv.Version() == "" {
		return rpm.Version{}, errors.New("no version after the epoch")
	}
	for _, r := range v {
		if r < 0x21 || r > 0x7e {
			return rpm.Version{}, errors.New("character outside printable ASCII")
		}
	}
	return pv, nil
}
