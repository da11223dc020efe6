package osv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/cvss"
)

// document is the OSV schema (1.0 to 1.6) as far as Stella keeps it.
type document struct {
	ID        string   `json:"id"`
	Modified  string   `json:"modified"`
	Published string   `json:"published"`
	Withdrawn string   `json:"withdrawn"`
	Aliases   []string `json:"aliases"`
	Related   []string `json:"related"`
	Upstream  []string `json:"upstream"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Severity  []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			Purl      string `json:"purl"`
		} `json:"package"`
		Severity []struct {
			Type  string `json:"type"`
			Score string `json:"score"`
		} `json:"severity"`
		Ranges []struct {
			Type   string              `json:"type"`
			Repo   string              `json:"repo"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
	DatabaseSpecific json.RawMessage `json:"database_specific"`
}

// Parse reads one OSV record in JSON. Invalid UTF-8 is an error:
// encoding/json would quietly turn it into U+FFFD and the stored digest
// would no longer describe the text.
func Parse(data []byte) (feed.Record, error) {
	if !utf8.Valid(data) {
		return feed.Record{}, errors.New("OSV record is not valid UTF-8")
	}
	var d document
	if err := json.Unmarshal(data, &d); err != nil {
		return feed.Record{}, fmt.Errorf("OSV record: %w", err)
	}
	return convert(&d)
}

// ParseYAML reads one OSV record in YAML (the PyPA advisory database's
// source form). Scalars are kept as written: "5.4" stays the version
// "5.4", not the number 5.4.
func ParseYAML(data []byte) (feed.Record, error) {
	if !utf8.Valid(data) {
		return feed.Record{}, errors.New("OSV YAML is not valid UTF-8")
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return feed.Record{}, fmt.Errorf("OSV YAML: %w", err)
	}
	budget := maxYAMLNodes
	v, err := plain(&n, 0, &budget)
	if err != nil {
		return feed.Record{}, fmt.Errorf("OSV YAML: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return feed.Record{}, fmt.Errorf("OSV YAML: %w", err)
	}
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		return feed.Record{}, fmt.Errorf("OSV YAML: %w", err)
	}
	return convert(&d)
}

// Bounds on a YAML tree: aliases can make a small file expand a lot.
const (
	maxYAMLNodes = 200_000
	maxYAMLDepth = 64
)

// plain turns a yaml.Node tree into maps, slices and strings (scalars
// verbatim, except null and booleans).
func plain(n *yaml.Node, depth int, budget *int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("document too large after alias expansion")
	}
	if depth > maxYAMLDepth {
		return nil, errors.New("document nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, errors.New("empty document")
		}
		return plain(n.Content[0], depth+1, budget)
	case yaml.AliasNode:
		return plain(n.Alias, depth+1, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := plain(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := plain(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("unexpected YAML node kind %d", n.Kind)
}

func convert(d *document) (feed.Record, error) {
	if d.ID == "" {
		return feed.Record{}, errors.New("OSV record without an id")
	}
	r := feed.Record{
		ID:      d.ID,
		Source:  Name,
		Summary: d.Summary,
		Details: d.Details,
		// upstream (OSV 1.6) names the records this one derives from: related, not the same id.
		Related: append(append([]string{}, d.Related...), d.Upstream...),
	}
	r.Published = parseTime(d.Published)
	r.Modified = parseTime(d.Modified)
	if d.Withdrawn != "" {
		r.Withdrawn = true
	}
	seen := map[string]bool{d.ID: true}
	for _, a := range d.Aliases {
		if a != "" && !seen[a] {
			seen[a] = true
			r.Aliases = append(r.Aliases, a)
		}
	}
	sortCVEFirst(r.Aliases)
	for _, ref := range d.References {
		r.URLs = append(r.URLs, ref.URL)
	}
	authority := Authority(d.ID)
	for _, s := range d.Severity {
		r.Severity = append(r.Severity, scored(authority, s.Type, s.Score))
	}
	var dbs struct {
		Severity any      `json:"severity"`
		CWEIDs   []string `json:"cwe_ids"`
	}
	if len(d.DatabaseSpecific) > 0 {
		_ = json.Unmarshal(d.DatabaseSpecific, &dbs) // free-form by design: keep what fits
	}
	if label, ok := dbs.Severity.(string); ok && label != "" {
		r.Severity = append(r.Severity, feed.Severity{Source: authority, Label: feed.NormalizeLabel(label)})
	}
	r.CWEs = dbs.CWEIDs
	for _, a := range d.Affected {
		if a.Package.Name == "" && a.Package.Purl == "" {
			continue // GIT-only entries without a package
		}
		purlType, distro, release := Ecosystem(a.Package.Ecosystem)
		af := feed.Affected{
			Ecosystem: purlType,
			Package:   a.Package.Name,
			PURL:      a.Package.Purl,
			Versions:  a.Versions,
			Distro:    distro,
			Release:   release,
		}
		for _, s := range a.Severity {
			r.Severity = append(r.Severity, scored(authority, s.Type, s.Score))
		}
		for _, rg := range a.Ranges {
			fr := feed.Range{Type: rg.Type}
			for _, ev := range rg.Events {
				var e feed.Event
				switch {
				case ev["introduced"] != "":
					e.Introduced = ev["introduced"]
				case ev["fixed"] != "":
					e.Fixed = ev["fixed"]
					if rg.Type != "GIT" {
						af.FixedVersion = ev["fixed"]
					}
				case ev["last_affected"] != "":
					e.LastAffected = ev["last_affected"]
				case ev["limit"] != "":
					e.Limit = ev["limit"]
				default:
					continue
				}
				fr.Events = append(fr.Events, e)
			}
			af.Ranges = append(af.Ranges, fr)
		}
		if distro != "" {
			af.State = feed.StateOpen
			if af.FixedVersion != "" {
				af.State = feed.StateFixed
			}
		} else {
			af.FixedVersion = "" // ecosystem packages are judged by their ranges
		}
		r.Affected = append(r.Affected, af)
	}
	return r, nil
}

// scored fills the score and label of a CVSS vector.
func scored(authority, typ, vector string) feed.Severity {
	s := feed.Severity{Source: authority, Type: typ, Vector: vector}
	if score, ok := cvss.BaseScore(vector); ok {
		s.Score = score
		s.Label = cvss.Label(score, typ == "CVSS_V2")
	}
	return s
}

// Authority names who scored an OSV record, from its id prefix.
func Authority(id string) string {
	prefix, _, _ := strings.Cut(id, "-")
	switch prefix {
	case "GHSA":
		return "ghsa"
	case "GO":
		return "go"
	case "PYSEC":
		return "pypa"
	case "RUSTSEC":
		return "rustsec"
	}
	return strings.ToLower(prefix)
}

// Ecosystem maps an OSV ecosystem to a purl type and, for distros, the
// distro id and release ("Debian:11" -> deb, debian, 11).
func Ecosystem(eco string) (purlType, distro, release string) {
	name, rel, _ := strings.Cut(eco, ":")
	switch name {
	case "npm":
		return "npm", "", ""
	case "PyPI":
		return "pypi", "", ""
	case "Go":
		return "golang", "", ""
	case "Maven":
		return "maven", "", ""
	case "RubyGems":
		return "gem", "", ""
	case "crates.io":
		return "cargo", "", ""
	case "Packagist":
		return "composer", "", ""
	case "NuGet":
		return "nuget", "", ""
	case "Hex":
		return "hex", "", ""
	case "Pub":
		return "pub", "", ""
	case "SwiftURL":
		return "swift", "", ""
	case "purl-type":
		return rel, "", ""
	case "Debian":
		return "deb", "debian", rel
	case "Ubuntu":
		return "deb", "ubuntu", strings.TrimSuffix(strings.TrimSuffix(rel, ":LTS"), ":Pro")
	case "Alpine":
		return "apk", "alpine", rel
	case "Rocky Linux":
		return "rpm", "rocky", rel
	case "AlmaLinux":
		return "rpm", "almalinux", rel
	case "Red Hat":
		return "rpm", "rhel", rel
	case "SUSE", "openSUSE":
		return "rpm", strings.ToLower(name), rel
	case "Mageia":
		return "rpm", "mageia", rel
	case "Wolfi", "Chainguard":
		return "apk", strings.ToLower(name), rel
	}
	return strings.ToLower(name), "", ""
}

// parseTime reads RFC 3339; the Go vulndb's "0001-01-01T00:00:00Z"
// placeholder and unreadable values give the zero time (unknown).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

// sortCVEFirst moves CVE ids to the front, keeping the order otherwise.
func sortCVEFirst(ids []string) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if strings.HasPrefix(id, "CVE-") {
			out = append(out, id)
		}
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "CVE-") {
			out = append(out, id)
		}
	}
	copy(ids, out)
}
