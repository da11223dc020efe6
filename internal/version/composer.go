package version

import (
	"errors"
	"regexp"
	"strings"
)

// composerComparator orders Packagist versions as Composer does: both are
// normalised by composer/semver's VersionParser::normalize ("v2.8.32" ->
// "2.8.32.0", "1.0.0-b2" -> "1.0.0.0-beta2", "1.x-dev" ->
// "1.9999999.9999999.9999999-dev") and then compared with PHP's
// version_compare (dev < alpha < beta < RC < release < patch). Written here:
// no Composer version library is served by the Go module proxy. Branch
// versions ("dev-main") have no order and are an error.
var composerComparator = scheme[[]string]{
	name:  "composer",
	parse: parseComposer,
	cmp:   comparePHP,
}

func parseComposer(v string) ([]string, error) {
	n, err := normalizeComposer(v)
	if err != nil {
		return nil, err
	}
	return canonicalizePHP(n), nil
}

const composerModifier = `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`

var (
	composerAlias     = regexp.MustCompile(`^([^,\s]+) +as +([^,\s]+)$`)
	composerFlag      = regexp.MustCompile(`(?i)@(?:stable|RC|beta|alpha|dev)$`)
	composerMetadata  = regexp.MustCompile(`^([^,\s+]+)\+[^\s]+$`)
	composerClassical = regexp.MustCompile(`(?i)^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + composerModifier + `$`)
	composerDate      = regexp.MustCompile(`(?i)^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + composerModifier + `$`)
	composerDevSuffix = regexp.MustCompile(`(?i)^(.*?)[.-]?dev$`)
	composerBranch    = regexp.MustCompile(`(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$`)
	nonDigit          = regexp.MustCompile(`\D`)
)

// normalizeComposer is composer/semver's VersionParser::normalize.
func normalizeComposer(v string) (string, error) {
	s := strings.TrimSpace(v)
	if m := composerAlias.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if loc := composerFlag.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	if s == "master" || s == "trunk" || s == "default" || strings.HasPrefix(strings.ToLower(s), "dev-") {
		return "", errors.New("a branch (dev-...) has no version order")
	}
	if m := composerMetadata.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	var base string
	var mod []string
	if m := composerClassical.FindStringSubmatch(s); m != nil {
		base = m[1]
		for _, p := range m[2:5] {
			if p == "" {
				p = ".0"
			}
			base += p
		}
		mod = m[5:]
	} else if m := composerDate.FindStringSubmatch(s); m != nil {
		base = nonDigit.ReplaceAllString(m[1], ".")
		mod = m[2:]
	}
	if mod != nil {
		stability, number, dev := strings.ToLower(mod[0]), mod[1], mod[2]
		if stability == "stable" {
			return base, nil
		}
		if stability != "" {
			base += "-" + expandStability(stability) + strings.TrimLeft(number, ".-")
		}
		if dev != "" {
			base += "-dev"
		}
		return base, nil
	}
	if m := composerDevSuffix.FindStringSubmatch(s); m != nil {
		if b := composerBranch.FindStringSubmatch(strings.TrimSpace(m[1])); b != nil {
			out := b[1]
			for _, p := range b[2:5] {
				if p == "" {
					p = ".x"
				}
				out += p
			}
			out = strings.NewReplacer("*", "9999999", "x", "9999999", "X", "9999999").Replace(out)
			return out + "-dev", nil
		}
	}
	return "", errors.New("not a Composer version")
}

func expandStability(s string) string {
	switch s {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	case "rc":
		return "RC"
	}
	return s
}

// canonicalizePHP is PHP's php_canonicalize_version split at the dots:
// "-", "_" and "+" become ".", a dot goes between a digit and a non-digit,
// other non-alphanumerics become ".".
func canonicalizePHP(v string) []string {
	var b strings.Builder
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isAlnum := func(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	dot := func() {
		if s := b.String(); len(s) > 0 && s[len(s)-1] != '.' {
			b.WriteByte('.')
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case i == 0:
			b.WriteByte(c)
		case c == '-' || c == '_' || c == '+':
			dot()
		case c != '.' && v[i-1] != '.' && isDigit(v[i-1]) != isDigit(c):
			dot()
			b.WriteByte(c)
		case !isAlnum(c):
			dot()
		default:
			b.WriteByte(c)
		}
	}
	var out []string
	for _, p := range strings.Split(b.String(), ".") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// phpSpecialOrder is compare_special_version_forms: the first name that is a
// prefix of the part decides; a number counts as "#"; anything else is -1.
func phpSpecialOrder(p string) int {
	for _, f := range []struct {
		name  string
		order int
	}{{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2}, {"RC", 3}, {"rc", 3}, {"#", 4}, {"pl", 5}, {"p", 5}} {
		if strings.HasPrefix(p, f.name) {
			return f.order
		}
	}
	return -1
}

// comparePHP is PHP's version_compare on canonical parts.
func comparePHP(a, b []string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		l, r := a[i], b[i]
		ld, rd := isDigitStart(l), isDigitStart(r)
		var c int
		switch {
		case ld && rd:
			c = compareDigits(leadingDigits(l), leadingDigits(r))
		case !ld && !rd:
			c = sign(phpSpecialOrder(l) - phpSpecialOrder(r))
		case ld:
			c = sign(phpSpecialOrder("#") - phpSpecialOrder(r))
		default:
			c = sign(phpSpecialOrder(l) - phpSpecialOrder("#"))
		}
		if c != 0 {
			return c
		}
	}
	// The longer one wins if its next part is a number; otherwise its next
	// part is compared with "#" (a release), so "1.0-beta" < "1.0".
	switch {
	case len(a) > len(b):
		if isDigitStart(a[len(b)]) {
			return 1
		}
		return sign(phpSpecialOrder(a[len(b)]) - phpSpecialOrder("#"))
	case len(b) > len(a):
		if isDigitStart(b[len(a)]) {
			return -1
		}
		return sign(phpSpecialOrder("#") - phpSpecialOrder(b[len(a)]))
	}
	return 0
}

func isDigitStart(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
