package nvd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stella-scan/stella/internal/feed"
)

// Page is one CVE API 2.0 response page.
type Page struct {
	ResultsPerPage  int               `json:"resultsPerPage"`
	StartIndex      int               `json:"startIndex"`
	TotalResults    int               `json:"totalResults"`
	Format          string            `json:"format"`
	Version         string            `json:"version"`
	Timestamp       string            `json:"timestamp"`
	Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
}

// ParsePage decodes a page envelope; the records stay raw so that one bad
// record does not cost the page. Invalid UTF-8 is refused (encoding/json
// would silently turn it into U+FFFD).
func ParsePage(data []byte) (*Page, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("page is not valid UTF-8")
	}
	var p Page
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("page: %w", err)
	}
	if p.Format != "" && p.Format != "NVD_CVE" {
		return nil, fmt.Errorf("page format %q, want NVD_CVE", p.Format)
	}
	if p.TotalResults < 0 || p.StartIndex < 0 {
		return nil, fmt.Errorf("page has negative totalResults/startIndex (%d/%d)", p.TotalResults, p.StartIndex)
	}
	return &p, nil
}

type cveItem struct {
	CVE json.RawMessage `json:"cve"`
}

type cve struct {
	ID           string `json:"id"`
	Published    string `json:"published"`
	LastModified string `json:"lastModified"`
	VulnStatus   string `json:"vulnStatus"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	Metrics struct {
		V40 []metric `json:"cvssMetricV40"`
		V31 []metric `json:"cvssMetricV31"`
		V30 []metric `json:"cvssMetricV30"`
		V2  []metric `json:"cvssMetricV2"`
	} `json:"metrics"`
	Weaknesses []struct {
		Description []struct {
			Value string `json:"value"`
		} `json:"description"`
	} `json:"weaknesses"`
	Configurations []struct {
		Operator string `json:"operator"`
		Negate   bool   `json:"negate"`
		Nodes    []struct {
			Operator string `json:"operator"`
			Negate   bool   `json:"negate"`
			CPEMatch []struct {
				Vulnerable            bool   `json:"vulnerable"`
				Criteria              string `json:"criteria"`
				VersionStartIncluding string `json:"versionStartIncluding"`
				VersionStartExcluding string `json:"versionStartExcluding"`
				VersionEndIncluding   string `json:"versionEndIncluding"`
				VersionEndExcluding   string `json:"versionEndExcluding"`
			} `json:"cpeMatch"`
		} `json:"nodes"`
	} `json:"configurations"`
	References []struct {
		URL string `json:"url"`
	} `json:"references"`
}

type metric struct {
	Source       string `json:"source"`
	Type         string `json:"type"`
	BaseSeverity string `json:"baseSeverity"` // v2 keeps it here
	CVSSData     struct {
		Version      string  `json:"version"`
		VectorString string  `json:"vectorString"`
		BaseScore    float64 `json:"baseScore"`
		BaseSeverity string  `json:"baseSeverity"`
	} `json:"cvssData"`
}

// ParseItem parses one element of a page's vulnerabilities array
// ({"cve": {...}}) or a bare cve object.
func ParseItem(data []byte) (feed.Record, error) {
	// Fast path for the API's compact form: {"cve":{…}} without spaces.
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte(`{"cve":`)) && bytes.HasSuffix(t, []byte("}")) {
		if r, err := ParseCVE(t[len(`{"cve":`) : len(t)-1]); err == nil {
			return r, nil
		}
	}
	var it cveItem
	if err := json.Unmarshal(data, &it); err == nil && len(it.CVE) > 0 {
		return ParseCVE(it.CVE)
	}
	return ParseCVE(data)
}

// ParseCVE turns one CVE API 2.0 cve object into a record. The id and the
// published date are required; everything else may be missing (records
// "Awaiting Analysis" have no metrics and no configurations).
func ParseCVE(data []byte) (feed.Record, error) {
	if !utf8.Valid(data) {
		return feed.Record{}, errors.New("record is not valid UTF-8")
	}
	var c cve
	if err := json.Unmarshal(data, &c); err != nil {
		return feed.Record{}, fmt.Errorf("cve record: %w", err)
	}
	if !strings.HasPrefix(c.ID, "CVE-") {
		return feed.Record{}, fmt.Errorf("cve record without a CVE id (id %q)", c.ID)
	}
	pub, err := parseTime(c.Published)
	if err != nil {
		return feed.Record{}, fmt.Errorf("%s: published: %w", c.ID, err)
	}
	mod, err := parseTime(c.LastModified)
	if err != nil && c.LastModified != "" {
		return feed.Record{}, fmt.Errorf("%s: lastModified: %w", c.ID, err)
	}
	r := feed.Record{
		ID:        c.ID,
		Source:    Name,
		Published: pub,
		Modified:  mod,
		Status:    c.VulnStatus,
		Withdrawn: c.VulnStatus == "Rejected",
	}
	for _, d := range c.Descriptions {
		if d.Lang == "en" {
			r.Summary = d.Value
			break
		}
	}
	seen := map[string]bool{}
	for _, w := range c.Weaknesses {
		for _, d := range w.Description {
			if strings.HasPrefix(d.Value, "CWE-") && !seen[d.Value] {
				seen[d.Value] = true
				r.CWEs = append(r.CWEs, d.Value)
			}
		}
	}
	for _, ref := range c.References {
		r.URLs = append(r.URLs, ref.URL)
	}
	add := func(typ string, ms []metric) {
		for _, m := range ms {
			label := m.CVSSData.BaseSeverity
			if label == "" {
				label = m.BaseSeverity
			}
			r.Severity = append(r.Severity, feed.Severity{
				Source: m.Source, Type: typ, Vector: m.CVSSData.VectorString,
				Score: m.CVSSData.BaseScore, Label: strings.ToUpper(label),
			})
		}
	}
	add("CVSS_V4", c.Metrics.V40)
	add("CVSS_V3", c.Metrics.V31)
	add("CVSS_V3", c.Metrics.V30)
	add("CVSS_V2", c.Metrics.V2)
	for ci, cfg := range c.Configurations {
		for ni, n := range cfg.Nodes {
			for _, m := range n.CPEMatch {
				r.CPEs = append(r.CPEs, feed.CPEMatch{
					Criteria:              m.Criteria,
					VersionStartIncluding: m.VersionStartIncluding,
					VersionStartExcluding: m.VersionStartExcluding,
					VersionEndIncluding:   m.VersionEndIncluding,
					VersionEndExcluding:   m.VersionEndExcluding,
					Config:                ci,
					Node:                  ni,
					Operator:              n.Operator,
					Negate:                n.Negate,
					Vulnerable:            m.Vulnerable,
					ConfigOperator:        cfg.Operator,
				})
			}
		}
	}
	return r, nil
}

// parseTime reads NVD's timestamps: "2023-10-18T04:15:11.077" (UTC, no
// zone) and RFC 3339 forms.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}
