package ubuntu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/cvss"
)

// maxDoc bounds one OSV or VEX document; real ones are under 1 MB.
const maxDoc = 32 << 20

// OSV is the part of an OSV record (USN-… or UBUNTU-CVE-…) Stella keeps.
type OSV struct {
	ID        string   `json:"id"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Aliases   []string `json:"aliases"`
	Upstream  []string `json:"upstream"`
	Related   []string `json:"related"`
	Published string   `json:"published"`
	Modified  string   `json:"modified"`
	Withdrawn string   `json:"withdrawn"`
	Severity  []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			PURL      string `json:"purl"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced   string `json:"introduced"`
				Fixed        string `json:"fixed"`
				LastAffected string `json:"last_affected"`
				Limit        string `json:"limit"`
			} `json:"events"`
		} `json:"ranges"`
		Versions         []string `json:"versions"`
		DatabaseSpecific struct {
			CVEsMap struct {
				CVEs []struct {
					ID       string `json:"id"`
					Severity []struct {
						Type  string `json:"type"`
						Score string `json:"score"`
					} `json:"severity"`
				} `json:"cves"`
			} `json:"cves_map"`
		} `json:"database_specific"`
	} `json:"affected"`
}

// ParseOSV reads one Ubuntu OSV record.
func ParseOSV(r io.Reader) (*OSV, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDoc {
		return nil, fmt.Errorf("OSV record exceeds %d bytes", maxDoc)
	}
	var o OSV
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("OSV JSON: %w", err)
	}
	if o.ID == "" {
		return nil, errors.New("OSV JSON: no id")
	}
	return &o, nil
}

var reRelease = regexp.MustCompile(`^\d+\.\d+$`)

// ParseEcosystem maps an OSV ecosystem to distro and release:
// "Ubuntu:22.04:LTS" -> ubuntu 22.04, "Ubuntu:Pro:16.04:LTS" -> ubuntu-pro
// 16.04 (Ubuntu Pro / ESM fixes apply only to subscribed systems, so they
// are kept apart from the public archive's).
func ParseEcosystem(eco string) (distro, release string, ok bool) {
	parts := strings.Split(eco, ":")
	if len(parts) < 2 || parts[0] != "Ubuntu" {
		return "", "", false
	}
	distro = "ubuntu"
	for _, p := range parts[1:] {
		switch {
		case p == "Pro" || strings.HasPrefix(p, "FIPS"):
			distro = "ubuntu-pro"
		case reRelease.MatchString(p):
			release = p
		}
	}
	return distro, release, release != ""
}

// Record turns the OSV record into a feed record: CVE aliases come from
// aliases and from upstream ("UBUNTU-CVE-2023-38545" -> "CVE-2023-38545").
func (o *OSV) Record() feed.Record {
	r := feed.Record{
		ID:        o.ID,
		Source:    Name,
		Summary:   o.Summary,
		Details:   o.Details,
		Published: parseTime(o.Published),
		Modified:  parseTime(o.Modified),
		Withdrawn: o.Withdrawn != "",
		Related:   o.Related,
	}
	seen := map[string]bool{o.ID: true}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			r.Aliases = append(r.Aliases, id)
		}
	}
	for _, id := range o.Aliases {
		add(id)
	}
	for _, id := range o.Upstream {
		add(strings.TrimPrefix(id, "UBUNTU-"))
	}
	sort.SliceStable(r.Aliases, func(i, j int) bool {
		return strings.HasPrefix(r.Aliases[i], "CVE-") && !strings.HasPrefix(r.Aliases[j], "CVE-")
	})
	for _, ref := range o.References {
		r.URLs = append(r.URLs, ref.URL)
	}
	for _, s := range o.Severity {
		r.Severity = append(r.Severity, severity(s.Type, s.Score))
	}
	var priorities []string
	for _, a := range o.Affected {
		distro, release, ok := ParseEcosystem(a.Package.Ecosystem)
		if !ok {
			continue
		}
		af := feed.Affected{
			Ecosystem: "deb",
			Package:   a.Package.Name,
			PURL:      a.Package.PURL,
			Distro:    distro,
			Release:   release,
			Versions:  a.Versions,
			State:     feed.StateOpen,
		}
		for _, rg := range a.Ranges {
			fr := feed.Range{Type: rg.Type}
			for _, e := range rg.Events {
				fr.Events = append(fr.Events, feed.Event{Introduced: e.Introduced, Fixed: e.Fixed, LastAffected: e.LastAffected, Limit: e.Limit})
				if e.Fixed != "" {
					af.FixedVersion, af.State = e.Fixed, feed.StateFixed
				}
			}
			af.Ranges = append(af.Ranges, fr)
		}
		r.Affected = append(r.Affected, af)
		for _, c := range a.DatabaseSpecific.CVEsMap.CVEs {
			for _, s := range c.Severity {
				if s.Type == "Ubuntu" {
					priorities = append(priorities, s.Score)
				}
			}
		}
	}
	// A USN carries Ubuntu's priority per CVE; the notice gets the highest.
	if p := highest(priorities); p != "" && len(o.Severity) == 0 {
		r.Severity = append(r.Severity, severity("Ubuntu", p))
	}
	return r
}

var priorityRank = map[string]int{"negligible": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

func highest(ps []string) string {
	best := ""
	for _, p := range ps {
		if priorityRank[strings.ToLower(p)] > priorityRank[best] {
			best = strings.ToLower(p)
		}
	}
	return best
}

func severity(typ, score string) feed.Severity {
	switch typ {
	case "Ubuntu":
		label := strings.ToLower(score)
		if r := priorityRank[label]; r >= 2 {
			label = strings.ToUpper(label)
		}
		return feed.Severity{Source: Name, Label: label}
	default: // CVSS_V2, CVSS_V3, CVSS_V4: the score field holds the vector
		s := feed.Severity{Source: Name, Type: typ, Vector: score}
		if v, ok := cvss.BaseScore(score); ok {
			s.Score, s.Label = v, cvss.Label(v, typ == "CVSS_V2")
		}
		return s
	}
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}
