package redhat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/cvss"
)

// maxHydra bounds one Security Data API document.
const maxHydra = 16 << 20

// HydraCVE is a Security Data API CVE document (/hydra/rest/securitydata/cve/CVE-….json).
type HydraCVE struct {
	Name           string   `json:"name"`
	ThreatSeverity string   `json:"threat_severity"`
	PublicDate     string   `json:"public_date"`
	Details        []string `json:"details"`
	Statement      string   `json:"statement"`
	CWE            string   `json:"cwe"`
	Bugzilla       *struct {
		Description string `json:"description"`
		URL         string `json:"url"`
	} `json:"bugzilla"`
	CVSS3 *struct {
		BaseScore     string `json:"cvss3_base_score"`
		ScoringVector string `json:"cvss3_scoring_vector"`
	} `json:"cvss3"`
	AffectedRelease []struct {
		ProductName string `json:"product_name"`
		ReleaseDate string `json:"release_date"`
		Advisory    string `json:"advisory"`
		CPE         string `json:"cpe"`
		Package     string `json:"package"`
	} `json:"affected_release"`
	PackageState []struct {
		ProductName string `json:"product_name"`
		FixState    string `json:"fix_state"`
		PackageName string `json:"package_name"`
		CPE         string `json:"cpe"`
	} `json:"package_state"`
	References []string `json:"references"`
}

// ParseHydra reads one Security Data API CVE document.
func ParseHydra(r io.Reader) (*HydraCVE, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxHydra+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxHydra {
		return nil, fmt.Errorf("security data API document exceeds %d bytes", maxHydra)
	}
	var h HydraCVE
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("security data API JSON: %w", err)
	}
	if !strings.HasPrefix(h.Name, "CVE-") {
		return nil, errors.New("security data API JSON: no CVE name")
	}
	return &h, nil
}

var reRHEL = regexp.MustCompile(`^cpe:/[aoh]:redhat:(?:enterprise_linux|rhel_[a-z0-9_]+):(\d+)`)

// platform maps a Red Hat product CPE to distro and release: RHEL CPEs
// ("cpe:/o:redhat:enterprise_linux:9", "cpe:/a:redhat:rhel_eus:8.6::appstream")
// give rhel and the major version; other products keep their CPE.
func platform(cpe string) (distro, release string) {
	if m := reRHEL.FindStringSubmatch(cpe); m != nil {
		return "rhel", m[1]
	}
	return "redhat", cpe
}

// splitNEVR splits "bind-32:9.11.4-26.P2.el7_9.13" into the name and an
// EVR without a zero epoch ("bind", "32:9.11.4-26.P2.el7_9.13").
func splitNEVR(nevr string) (name, evr string, ok bool) {
	i := strings.LastIndex(nevr, "-")
	if i <= 0 {
		return "", "", false
	}
	j := strings.LastIndex(nevr[:i], "-")
	if j <= 0 {
		return "", "", false
	}
	name, evr = nevr[:j], nevr[j+1:]
	return name, strings.TrimPrefix(evr, "0:"), name != ""
}

var fixStates = map[string]string{
	"Not affected":         feed.StateNotAffected,
	"Will not fix":         feed.StateWillNotFix,
	"Out of support scope": feed.StateWillNotFix,
	"Affected":             feed.StateOpen,
	"Fix deferred":         feed.StateOpen,
	"Under investigation":  feed.StateOpen,
	"New":                  feed.StateOpen,
}

// Record turns the document into a record keyed by the CVE; the RHSAs
// that fixed it become aliases.
func (h *HydraCVE) Record() feed.Record {
	r := feed.Record{ID: h.Name, Source: Name, URLs: []string{"https://access.redhat.com/security/cve/" + h.Name}}
	if t, err := time.Parse(time.RFC3339, h.PublicDate); err == nil {
		r.Published = t.UTC()
	}
	if len(h.Details) > 0 {
		r.Details = h.Details[len(h.Details)-1] // Red Hat's own text comes last
	}
	if h.Bugzilla != nil {
		r.Summary = h.Bugzilla.Description
	}
	if h.CWE != "" {
		r.CWEs = []string{h.CWE}
	}
	if h.ThreatSeverity != "" {
		r.Severity = append(r.Severity, feed.Severity{Source: Name, Label: h.ThreatSeverity})
	}
	if c := h.CVSS3; c != nil && c.ScoringVector != "" {
		s := feed.Severity{Source: Name, Type: "CVSS_V3", Vector: c.ScoringVector}
		s.Score, _ = strconv.ParseFloat(c.BaseScore, 64)
		if s.Score == 0 {
			s.Score, _ = cvss.BaseScore(c.ScoringVector)
		}
		if s.Score > 0 {
			s.Label = cvss.Label(s.Score, false)
		}
		r.Severity = append(r.Severity, s)
	}
	for _, a := range h.AffectedRelease {
		if a.Advisory != "" && !contains(r.Aliases, a.Advisory) {
			r.Aliases = append(r.Aliases, a.Advisory)
		}
		name, evr, ok := splitNEVR(a.Package)
		if !ok {
			continue
		}
		distro, release := platform(a.CPE)
		r.Affected = appendAffected(r.Affected, feed.Affected{Ecosystem: "rpm", Package: name, Distro: distro, Release: release, FixedVersion: evr, State: feed.StateFixed})
	}
	for _, p := range h.PackageState {
		state, ok := fixStates[p.FixState]
		if !ok || p.PackageName == "" {
			continue
		}
		distro, release := platform(p.CPE)
		r.Affected = appendAffected(r.Affected, feed.Affected{Ecosystem: "rpm", Package: p.PackageName, Distro: distro, Release: release, State: state})
	}
	return r
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func appendAffected(list []feed.Affected, a feed.Affected) []feed.Affected {
	for _, x := range list {
		if x.Package == a.Package && x.Distro == a.Distro && x.Release == a.Release && x.FixedVersion == a.FixedVersion && x.State == a.State {
			return list
		}
	}
	return append(list, a)
}
