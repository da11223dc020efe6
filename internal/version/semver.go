package version

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// semverComparator orders strict SemVer 2.0 versions (Masterminds/semver,
// StrictNewVersion): pre-releases below the release, numeric identifiers
// numerically and below alphanumeric ones, build metadata ignored.
var semverComparator = scheme[*semver.Version]{
	name:  "semver",
	parse: semver.StrictNewVersion,
	cmp:   (*semver.Version).Compare,
}

// cargoComparator: Cargo versions are strict SemVer 2.0.
var cargoComparator = scheme[*semver.Version]{
	name:  "cargo",
	parse: semver.StrictNewVersion,
	cmp:   (*semver.Version).Compare,
}

// npmComparator orders npm versions by SemVer 2.0 (Masterminds/semver).
// Parsing is lenient the way advisories need it: GitHub's npm ranges hold
// versions such as "1.0" (GHSA-r683-j2x4-v87g), read as 1.0.0; a leading "v"
// or "=" and surrounding spaces are dropped as node-semver does. (The
// aquasecurity/go-npm-version parser reads a pre-release "x" as a wildcard,
// so "1.0.0-x" would equal "1.0.0"; Masterminds does not.)
var npmComparator = scheme[*semver.Version]{
	name:  "npm",
	parse: parseNPM,
	cmp:   (*semver.Version).Compare,
}

func parseNPM(v string) (*semver.Version, error) {
	s := strings.TrimSpace(v)
	s = strings.TrimPrefix(s, "=")
	return semver.NewVersion(s)
}
