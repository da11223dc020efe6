package debian

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/feed"
)

// trackerCVE is one CVE under one source package in the tracker JSON.
type trackerCVE struct {
	Description string          `json:"description"`
	Scope       string          `json:"scope"`
	DebianBug   json.RawMessage `json:"debianbug"`
	// Releases is an object keyed by codename; the real dump sometimes has
	// an empty array instead, hence RawMessage.
	Releases json.RawMessage `json:"releases"`
}

type trackerRelease struct {
	Status       string            `json:"status"`
	Repositories map[string]string `json:"repositories"`
	FixedVersion string            `json:"fixed_version"`
	Urgency      string            `json:"urgency"`
	NoDSA        string            `json:"nodsa"`
	NoDSAReason  string            `json:"nodsa_reason"`
}

// TrackerIsJSON reports whether data looks like the tracker dump: a JSON
// object whose values are objects keyed by CVE-like ids.
func TrackerIsJSON(data []byte) bool {
	head := data[:min(len(data), 4096)]
	return feed.Sniff(head) == feed.KindJSON && bytes.Contains(head, []byte(`"releases"`))
}

// ParseTracker streams the tracker JSON ({package: {CVE: {...}}}) and
// returns one record per CVE, with one affected entry per (package,
// release). Package objects are decoded one at a time, so the whole dump
// is never held as a tree.
func ParseTracker(r io.Reader) ([]feed.Record, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	byCVE := map[string]*feed.Record{}
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("tracker JSON: %w", err)
		}
		pkg, _ := tok.(string)
		var cves map[string]trackerCVE
		if err := dec.Decode(&cves); err != nil {
			return nil, fmt.Errorf("tracker JSON: package %q: %w", pkg, err)
		}
		ids := make([]string, 0, len(cves))
		for id := range cves {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			c := cves[id]
			rec := byCVE[id]
			if rec == nil {
				rec = &feed.Record{ID: id, Source: Name, URLs: []string{"https://security-tracker.debian.org/tracker/" + id}}
				byCVE[id] = rec
				order = append(order, id)
			}
			if rec.Details == "" {
				rec.Details = c.Description
			}
			rels, err := decodeReleases(c.Releases)
			if err != nil {
				return nil, fmt.Errorf("tracker JSON: %s/%s: %w", pkg, id, err)
			}
			names := make([]string, 0, len(rels))
			for n := range rels {
				names = append(names, n)
			}
			sort.Strings(names)
			var urgencies []string
			for _, n := range names {
				rel := rels[n]
				rec.Affected = append(rec.Affected, trackerAffected(pkg, n, rel))
				urgencies = append(urgencies, rel.Urgency)
			}
			if sev, ok := urgencySeverity(urgencies); ok && len(rec.Severity) == 0 {
				rec.Severity = []feed.Severity{sev}
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	out := make([]feed.Record, 0, len(order))
	for _, id := range order {
		out = append(out, *byCVE[id])
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("tracker JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("tracker JSON: expected %q, found %v", want, tok)
	}
	return nil
}

func decodeReleases(raw json.RawMessage) (map[string]trackerRelease, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || bytes.Equal(raw, []byte("[]")) {
		return nil, nil
	}
	var rels map[string]trackerRelease
	if err := json.Unmarshal(raw, &rels); err != nil {
		return nil, errors.New("releases is neither an object nor an empty list")
	}
	return rels, nil
}

// trackerAffected maps a tracker release entry to a state:
//   - resolved with fixed_version "0": never affected;
//   - resolved: fixed in fixed_version;
//   - open with nodsa: no DSA ("postponed" or unspecified) or will not fix
//     ("ignored");
//   - open with urgency end-of-life: the release no longer gets fixes;
//   - anything else (open, undetermined): open.
func trackerAffected(pkg, release string, rel trackerRelease) feed.Affected {
	a := feed.Affected{Ecosystem: "deb", Package: pkg, Distro: "debian", Release: release}
	switch {
	case rel.Status == "resolved" && rel.FixedVersion == "0":
		a.State = feed.StateNotAffected
	case rel.Status == "resolved":
		a.State = feed.StateFixed
		a.FixedVersion = rel.FixedVersion
	case rel.NoDSA != "" && rel.NoDSAReason == "ignored":
		a.State = feed.StateWillNotFix
	case rel.NoDSA != "":
		a.State = feed.StateNoDSA
	case rel.Urgency == "end-of-life":
		a.State = feed.StateWillNotFix
	default:
		a.State = feed.StateOpen
	}
	return a
}

// urgencySeverity picks the highest tracker urgency as Debian's severity
// label. "**" marks an urgency not yet reviewed; it is dropped.
func urgencySeverity(urgencies []string) (feed.Severity, bool) {
	rank := map[string]int{"unimportant": 1, "low": 2, "medium": 3, "high": 4}
	best, bestRank := "", 0
	for _, u := range urgencies {
		u = strings.TrimRight(strings.TrimSpace(u), "*")
		if r := rank[u]; r > bestRank {
			best, bestRank = u, r
		}
	}
	if best == "" {
		return feed.Severity{}, false
	}
	label := strings.ToUpper(best)
	if best == "unimportant" {
		label = best
	}
	return feed.Severity{Source: Name, Label: label}, true
}
