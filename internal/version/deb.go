package version

import (
	deb "github.com/knqyf263/go-deb-version"
)

// debComparator orders Debian and Ubuntu package versions
// ([epoch:]upstream[-revision], deb-version(7)) with knqyf263/go-deb-version:
// "~" sorts before everything, even the end of the string.
var debComparator = scheme[deb.Version]{
	name:  "deb",
	parse: deb.NewVersion,
	cmp:   func(a, b deb.Version) int { return a.Compare(b) },
}
