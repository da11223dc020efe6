package version

import (
	"errors"

	mvn "github.com/masahiro331/go-mvn-version"
)

// mavenComparator orders Maven versions with masahiro331/go-mvn-version,
// which follows Maven's ComparableVersion specification: any number of
// numeric parts (2.12.6.1), qualifiers alpha < beta < milestone < rc <
// snapshot < release < sp, unknown qualifiers after sp, trailing zeros and
// "ga"/"final"/"release" ignored.
var mavenComparator = scheme[mvn.Version]{
	name:  "maven",
	parse: parseMaven,
	cmp:   mvn.Version.Compare,
}

// parseMaven rejects what the library would read as garbage (it never
// fails), and normalises the parsed lists bottom-up as Maven's parser does:
// the library leaves a list that became empty inside its parent, so
// "1-final0" kept an empty sub-list and the order was not transitive
// ("1-c0" < "1-final0" = "1-0" < "1-c0").
func parseMaven(v string) (mvn.Version, error) {
	for _, r := range v {
		if r < 0x21 || r > 0x7e {
			return mvn.Version{}, errors.New("space or character outside printable ASCII")
		}
	}
	mv, err := mvn.NewVersion(v)
	if err != nil {
		return mvn.Version{}, err
	}
	mv.Items = normalizeMaven(mv.Items)
	return mv, nil
}

// normalizeMaven drops trailing null items (0, "", empty list) from every
// list, children first; like ComparableVersion.ListItem.normalize it looks
// past non-null sub-lists.
func normalizeMaven(items mvn.ListItem) mvn.ListItem {
	out := make(mvn.ListItem, len(items))
	for i, it := range items {
		if l, ok := it.(mvn.ListItem); ok {
			it = normalizeMaven(l)
		}
		out[i] = it
	}
	for i := len(out) - 1; i >= 0; i-- {
		switch it := out[i].(type) {
		case mvn.ListItem:
			if len(it) == 0 {
				out = out[:i]
			}
			continue
		case mvn.IntItem:
			if it == 0 {
				out = out[:i]
				continue
			}
		case mvn.StringItem:
			if it == "" {
				out = out[:i]
				continue
			}
		}
		break
	}
	return out
}
