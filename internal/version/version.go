// Package version orders package versions, one comparator per ecosystem, and
// evaluates OSV affected ranges with them.
//
// Ecosystems are named by purl type (deb, rpm, apk, npm, golang, pypi, maven,
// gem, cargo, nuget, composer); OSV ecosystem names (PyPI, Go, crates.io,
// Debian:12, Alpine:v3.19, Red Hat:..., ...) are accepted too.
package version

import (
	"errors"
	"fmt"
	"strings"
)

// Comparator compares two versions of one ecosystem.
type Comparator interface {
	Compare(a, b string) (int, error) // -1, 0, 1; error names the unparsable version
}

// ErrInvalidVersion is wrapped by every error about a version string that the
// ecosystem's grammar does not accept.
var ErrInvalidVersion = errors.New("invalid version")

// ErrUnknownEcosystem is wrapped by For when no comparator exists.
var ErrUnknownEcosystem = errors.New("no version comparator for ecosystem")

// comparators maps a purl type to its comparator. "semver" is plain SemVer
// 2.0, for OSV ranges of type SEMVER in ecosystems without a comparator here.
var comparators = map[string]Comparator{
	"deb":      debComparator,
	"rpm":      rpmComparator,
	"apk":      apkComparator,
	"npm":      npmComparator,
	"golang":   goComparator,
	"pypi":     pypiComparator,
	"maven":    mavenComparator,
	"gem":      gemComparator,
	"cargo":    cargoComparator,
	"nuget":    nugetComparator,
	"composer": composerComparator,
	"semver":   semverComparator,
}

// osvEcosystems maps lower-cased OSV ecosystem names (without their
// ":<release>" suffix) to purl types.
var osvEcosystems = map[string]string{
	"npm":          "npm",
	"pypi":         "pypi",
	"go":           "golang",
	"maven":        "maven",
	"rubygems":     "gem",
	"crates.io":    "cargo",
	"nuget":        "nuget",
	"packagist":    "composer",
	"debian":       "deb",
	"ubuntu":       "deb",
	"alpine":       "apk",
	"wolfi":        "apk",
	"chainguard":   "apk",
	"rocky linux":  "rpm",
	"almalinux":    "rpm",
	"red hat":      "rpm",
	"suse":         "rpm",
	"opensuse":     "rpm",
	"photon os":    "rpm",
	"openeuler":    "rpm",
	"mageia":       "rpm",
	"swifturl":     "semver",
	"semver":       "semver",
	"purl-type:go": "golang",
}

// Ecosystem returns the purl type for an OSV ecosystem name such as "PyPI",
// "crates.io" or "Debian:12" (the ":<release>" suffix is ignored), or "" when
// the name is unknown. A purl type given as is comes back unchanged.
func Ecosystem(osvName string) string {
	name := strings.TrimSpace(osvName)
	if _, ok := comparators[name]; ok {
		return name
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return osvEcosystems[strings.ToLower(name)]
}

// For returns the comparator of an ecosystem, named by purl type or by OSV
// ecosystem name.
func For(ecosystem string) (Comparator, error) {
	if c, ok := comparators[ecosystem]; ok {
		return c, nil
	}
	if c, ok := comparators[Ecosystem(ecosystem)]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w %q: use a purl type (deb, rpm, apk, npm, golang, pypi, maven, gem, cargo, nuget, composer) or an OSV ecosystem name", ErrUnknownEcosystem, ecosystem)
}

// scheme is a comparator built from a parser and an order on parsed values.
// Parsing once and comparing many times is what InRange relies on.
type scheme[T any] struct {
	name  string
	parse func(string) (T, error)
	cmp   func(a, b T) int
}

func (s scheme[T]) Compare(a, b string) (int, error) {
	va, err := s.key(a)
	if err != nil {
		return 0, err
	}
	vb, err := s.key(b)
	if err != nil {
		return 0, err
	}
	return s.compareKeys(va, vb), nil
}

// key parses v; the error names the ecosystem and the input.
func (s scheme[T]) key(v string) (any, error) {
	if v == "" {
		return nil, fmt.Errorf("%s version %q: %w: empty", s.name, v, ErrInvalidVersion)
	}
	p, err := s.parse(v)
	if err != nil {
		return nil, fmt.Errorf("%s version %q: %w: %w", s.name, v, ErrInvalidVersion, err)
	}
	return p, nil
}

func (s scheme[T]) compareKeys(a, b any) int {
	return sign(s.cmp(a.(T), b.(T)))
}

func (s scheme[T]) String() string { return s.name }

// keyer is implemented by the comparators of this package: InRange parses
// each version once through it.
type keyer interface {
	key(v string) (any, error)
	compareKeys(a, b any) int
}

// comparatorKeyer adapts a Comparator from outside this package to keyer.
type comparatorKeyer struct{ c Comparator }

func (k comparatorKeyer) key(v string) (any, error) {
	if _, err := k.c.Compare(v, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (k comparatorKeyer) compareKeys(a, b any) int {
	n, _ := k.c.Compare(a.(string), b.(string)) // both validated by key
	return sign(n)
}

func keyerFor(c Comparator) keyer {
	if k, ok := c.(keyer); ok {
		return k
	}
	return comparatorKeyer{c}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// compareDigits orders two non-empty strings of ASCII digits numerically,
// without overflow.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
