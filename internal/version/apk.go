package version

import (
	"errors"
	"strings"
)

// apkComparator orders Alpine (apk-tools) versions,
// digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}, as apk-tools' current
// version.c does: "_alpha|_beta|_pre|_rc" below the release,
// "_cvs|_svn|_git|_hg|_p" above it, then the "-rN" package revision, and a
// component with a leading zero compared as text ("1.01" < "1.1"). Written
// here because knqyf263/go-apk-version ports an older version.c whose
// leading-zero rule puts "1.0_rc1" above "1.0".
var apkComparator = scheme[[]apkToken]{
	name:  "apk",
	parse: parseAPK,
	cmp:   compareAPK,
}

// apkKind is the kind of a token, in the order apk-tools gives them: when two
// versions agree up to a point, the one whose next token has the lower kind
// is the greater (more version parts), except for a pre-release suffix.
type apkKind int

const (
	apkInitialDigit apkKind = iota
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkCommitHash
	apkRevision
	apkEnd
)

// apkSuffixes in order; apkSuffixRelease separates pre- from post-release.
var apkSuffixes = map[string]int{"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}

const apkSuffixRelease = 5

type apkToken struct {
	kind   apkKind
	value  string // digits, letter, suffix name or hash
	suffix int
}

func parseAPK(v string) ([]apkToken, error) {
	n := spanOf(v, isASCIIDigit)
	if n == 0 {
		return nil, errors.New("does not start with a digit")
	}
	toks := []apkToken{{kind: apkInitialDigit, value: v[:n]}}
	s := v[n:]
	for s != "" {
		prev := toks[len(toks)-1].kind
		var t apkToken
		switch c := s[0]; {
		case c >= 'a' && c <= 'z':
			if prev > apkDigit {
				return nil, errors.New("letter after a suffix or revision")
			}
			t, s = apkToken{kind: apkLetter, value: s[:1]}, s[1:]
		case c == '.' || isASCIIDigit(c):
			if c == '.' {
				if prev > apkDigit {
					return nil, errors.New("dot after a letter, suffix or revision")
				}
				s = s[1:]
			}
			switch prev {
			case apkInitialDigit, apkDigit:
				t.kind = apkDigit
			case apkSuffix:
				t.kind = apkSuffixNo
			default:
				return nil, errors.New("number in the wrong place")
			}
			n := spanOf(s, isASCIIDigit)
			if n == 0 {
				return nil, errors.New("dot without a number")
			}
			t.value, s = s[:n], s[n:]
		case c == '_':
			if prev > apkSuffixNo {
				return nil, errors.New("suffix after a hash or revision")
			}
			n := 1 + spanOf(s[1:], func(c byte) bool { return c >= 'a' && c <= 'z' })
			suf, ok := apkSuffixes[s[1:n]]
			if !ok {
				return nil, errors.New("unknown suffix " + s[:n])
			}
			t, s = apkToken{kind: apkSuffix, value: s[1:n], suffix: suf}, s[n:]
		case c == '~':
			if prev >= apkCommitHash {
				return nil, errors.New("second commit hash")
			}
			n := 1 + spanOf(s[1:], isHexDigit)
			if n == 1 {
				return nil, errors.New("~ without a commit hash")
			}
			t, s = apkToken{kind: apkCommitHash, value: s[1:n]}, s[n:]
		case c == '-':
			if prev >= apkRevision || !strings.HasPrefix(s, "-r") {
				return nil, errors.New("- not followed by rN")
			}
			n := 2 + spanOf(s[2:], isASCIIDigit)
			if n == 2 {
				return nil, errors.New("-r without a number")
			}
			t, s = apkToken{kind: apkRevision, value: s[2:n]}, s[n:]
		default:
			return nil, errors.New("unexpected character " + s[:1])
		}
		toks = append(toks, t)
	}
	return append(toks, apkToken{kind: apkEnd}), nil
}

func compareAPK(a, b []apkToken) int {
	i := 0
	for ; a[i].kind == b[i].kind && a[i].kind < apkEnd; i++ {
		if c := compareAPKToken(a[i], b[i]); c != 0 {
			return c
		}
	}
	ta, tb := a[i], b[i]
	switch {
	case ta.kind == tb.kind:
		return 0
	case ta.kind == apkSuffix && ta.suffix < apkSuffixRelease:
		return -1
	case tb.kind == apkSuffix && tb.suffix < apkSuffixRelease:
		return 1
	case ta.kind > tb.kind:
		return -1
	}
	return 1
}

func compareAPKToken(a, b apkToken) int {
	switch a.kind {
	case apkDigit:
		if a.value[0] == '0' || b.value[0] == '0' {
			return strings.Compare(a.value, b.value) // Gentoo rule for leading zeros
		}
		return compareDigits(a.value, b.value)
	case apkInitialDigit, apkSuffixNo, apkRevision:
		return compareDigits(a.value, b.value)
	case apkSuffix:
		return sign(a.suffix - b.suffix)
	}
	return strings.Compare(a.value, b.value) // letter, commit hash
}

func spanOf(s string, ok func(byte) bool) int {
	i := 0
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isASCIIDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
