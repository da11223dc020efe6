package version

import (
	pep440 "github.com/aquasecurity/go-pep440-version"
)

// pypiComparator orders Python versions by PEP 440 with
// aquasecurity/go-pep440-version (a port of pypa/packaging): epochs,
// .devN < aN < bN < rcN < release < .postN, trailing zeros ignored, local
// versions above their public version, spelling variants normalised
// ("1.0-1" is "1.0.post1", "1.0RC1" is "1.0rc1").
var pypiComparator = scheme[pep440.Version]{
	name:  "pypi",
	parse: pep440.Parse,
	cmp:   pep440.Version.Compare,
}
