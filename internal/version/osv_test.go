package version

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestInRange(t *testing.T) {
	intro := func(v string) Event { return Event{Introduced: v} }
	fix := func(v string) Event { return Event{Fixed: v} }
	last := func(v string) Event { return Event{LastAffected: v} }
	limit := func(v string) Event { return Event{Limit: v} }
	twoRanges := []Event{intro("1.0.0"), fix("1.0.2"), intro("3.0.0"), fix("3.2.5")}
	shuffled := []Event{fix("3.2.5"), intro("3.0.0"), fix("1.0.2"), intro("1.0.0")}
	tests := []struct {
		name      string
		events    []Event
		v         string
		affected  bool
		wantFixed string
	}{
		{"introduced 0 only", []Event{intro("0")}, "10.0.0", true, ""},
		{"below fix", []Event{intro("0"), fix("1.0.2")}, "1.0.1", true, "1.0.2"},
		{"at fix", []Event{intro("0"), fix("1.0.2")}, "1.0.2", false, "1.0.2"},
		{"above fix", []Event{intro("0"), fix("1.0.2")}, "2.0.0", false, "1.0.2"},
		{"at introduced", []Event{intro("1.0.0"), fix("2.0.0")}, "1.0.0", true, "2.0.0"},
		{"below introduced", []Event{intro("1.0.0"), fix("2.0.0")}, "0.9.9", false, ""},
		{"pre-release below introduced", []Event{intro("1.0.0"), fix("2.0.0")}, "1.0.0-rc.1", false, ""},
		{"first of two", twoRanges, "1.0.1", true, "1.0.2"},
		{"between two", twoRanges, "2.0.0", false, "1.0.2"},
		{"second of two", twoRanges, "3.1.0", true, "3.2.5"},
		{"after two", twoRanges, "3.2.5", false, "3.2.5"},
		{"unsorted first", shuffled, "1.0.1", true, "1.0.2"},
		{"unsorted between", shuffled, "2.0.0", false, "1.0.2"},
		{"unsorted second", shuffled, "3.0.0", true, "3.2.5"},
		{"last_affected inclusive", []Event{intro("0"), last("4.5.1")}, "4.5.1", true, ""},
		{"above last_affected", []Event{intro("0"), last("4.5.1")}, "4.5.2", false, ""},
		{"last_affected closes before a later fix", []Event{intro("0"), last("1.0.0"), intro("2.0.0"), fix("3.0.0")}, "0.5.0", true, ""},
		{"below limit", []Event{intro("1.0.0"), limit("2.0.0")}, "1.5.0", true, ""},
		{"at limit", []Event{intro("1.0.0"), limit("2.0.0")}, "2.0.0", false, ""},
		{"limit star", []Event{intro("0"), limit("*")}, "99.0.0", true, ""},
		{"one of two limits", []Event{intro("0"), limit("1.0.0"), limit("3.0.0")}, "2.0.0", true, ""},
		{"introduced and fixed equal", []Event{intro("1.0.0"), fix("1.0.0")}, "1.0.0", false, "1.0.0"},
		// Document order breaks ties: [1.0.0, 2.0.0) then [2.0.0, 3.0.0).
		{"fixed then introduced at one version", []Event{intro("1.0.0"), fix("2.0.0"), intro("2.0.0"), fix("3.0.0")}, "2.0.0", true, "3.0.0"},
	}
	c, _ := For("npm")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			affected, fixed, err := InRange(c, tt.v, tt.events)
			if err != nil {
				t.Fatal(err)
			}
			if affected != tt.affected || fixed != tt.wantFixed {
				t.Errorf("InRange(%s, %v) = %v, %q; want %v, %q", tt.v, tt.events, affected, fixed, tt.affected, tt.wantFixed)
			}
		})
	}
}

func TestInRangeErrors(t *testing.T) {
	c, _ := For("npm")
	tests := []struct {
		name    string
		v       string
		events  []Event
		mention string
	}{
		{"no events", "1.0.0", nil, "no events"},
		{"bad version", "not-a-version", []Event{{Introduced: "0"}}, `"not-a-version"`},
		{"bad event version", "1.0.0", []Event{{Introduced: "0"}, {Fixed: "one.two"}}, `"one.two"`},
		{"two fields in one event", "1.0.0", []Event{{Introduced: "0", Fixed: "2.0.0"}}, "exactly one"},
		{"empty event", "1.0.0", []Event{{}}, "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := InRange(c, tt.v, tt.events)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("err = %v, want one that mentions %s", err, tt.mention)
			}
		})
	}
	if _, _, err := InRange(c, "x", []Event{{Introduced: "0"}}); !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("err = %v, want ErrInvalidVersion", err)
	}
}

// intComparator is a Comparator from outside the package: integers.
type intComparator struct{}

func (intComparator) Compare(a, b string) (int, error) {
	x, err := strconv.Atoi(a)
	if err != nil {
		return 0, err
	}
	y, err := strconv.Atoi(b)
	if err != nil {
		return 0, err
	}
	return sign(x - y), nil
}

func TestInRangeOtherComparator(t *testing.T) {
	events := []Event{{Fixed: "20"}, {Introduced: "10"}}
	for v, want := range map[string]bool{"9": false, "10": true, "19": true, "20": false} {
		got, _, err := InRange(intComparator{}, v, events)
		if err != nil || got != want {
			t.Errorf("InRange(%s) = %v, %v; want %v", v, got, err, want)
		}
	}
	if _, _, err := InRange(intComparator{}, "x", events); err == nil {
		t.Error("InRange accepted x")
	}
}
