package version

import (
	"errors"
	"regexp"
	"strings"
)

// gemComparator orders RubyGems versions as Gem::Version#<=> does. Written
// here because aquasecurity/go-gem-version splits letters one by one, where
// RubyGems takes runs of letters ("1.0.b" < "1.0.beta", "1.0.a10" <
// "1.0.ab"), and so disagrees with RubyGems on such pairs.
var gemComparator = scheme[[]gemSegment]{
	name:  "gem",
	parse: parseGem,
	cmp:   compareGem,
}

// gemPattern is Gem::Version::VERSION_PATTERN, anchored; RubyGems strips
// surrounding white space first.
var gemPattern = regexp.MustCompile(`^[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

var gemSegmentPattern = regexp.MustCompile(`[0-9]+|[a-zA-Z]+`)

// gemSegment is a numeric segment (digits) or a string segment (letters).
type gemSegment struct {
	s       string
	numeric bool
}

// parseGem returns Gem::Version#canonical_segments: "-" stands for ".pre.",
// segments are runs of digits or of letters, and trailing zeros are dropped
// from the numeric part and from the part starting at the first letters.
func parseGem(v string) ([]gemSegment, error) {
	s := strings.TrimSpace(v)
	if !gemPattern.MatchString(s) {
		return nil, errors.New("not a RubyGems version")
	}
	s = strings.ReplaceAll(s, "-", ".pre.")
	var release, pre []gemSegment
	for _, tok := range gemSegmentPattern.FindAllString(s, -1) {
		seg := gemSegment{s: tok, numeric: tok[0] >= '0' && tok[0] <= '9'}
		if !seg.numeric || pre != nil {
			pre = append(pre, seg)
		} else {
			release = append(release, seg)
		}
	}
	return append(trimGemZeros(release), trimGemZeros(pre)...), nil
}

func trimGemZeros(segs []gemSegment) []gemSegment {
	for len(segs) > 0 {
		last := segs[len(segs)-1]
		if !last.numeric || strings.Trim(last.s, "0") != "" {
			break
		}
		segs = segs[:len(segs)-1]
	}
	return segs
}

var gemZero = gemSegment{s: "0", numeric: true}

// compareGem is Gem::Version#<=> on canonical segments: a missing segment is
// 0, a string segment sorts below a number, strings compare byte-wise.
func compareGem(a, b []gemSegment) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		l, r := gemZero, gemZero
		if i < len(a) {
			l = a[i]
		}
		if i < len(b) {
			r = b[i]
		}
		var c int
		switch {
		case l.numeric && r.numeric:
			c = compareDigits(l.s, r.s)
		case l.numeric:
			c = 1
		case r.numeric:
			c = -1
		default:
			c = strings.Compare(l.s, r.s)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
