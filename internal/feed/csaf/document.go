package csaf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/cvss"
)

// MaxDoc bounds one CSAF document; large real ones (Red Hat VEX for the
// kernel) reach tens of MB.
const MaxDoc = 128 << 20

// Document is the part of a CSAF 2.0 document Stella reads.
type Document struct {
	Document struct {
		Category          string `json:"category"`
		CSAFVersion       string `json:"csaf_version"`
		Title             string `json:"title"`
		Lang              string `json:"lang"`
		AggregateSeverity *struct {
			Text      string `json:"text"`
			Namespace string `json:"namespace"`
		} `json:"aggregate_severity"`
		Distribution struct {
			TLP struct {
				Label string `json:"label"`
			} `json:"tlp"`
		} `json:"distribution"`
		Publisher struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"publisher"`
		Tracking struct {
			ID                 string `json:"id"`
			Status             string `json:"status"`
			Version            string `json:"version"`
			InitialReleaseDate string `json:"initial_release_date"`
			CurrentReleaseDate string `json:"current_release_date"`
		} `json:"tracking"`
		Notes      []Note      `json:"notes"`
		References []Reference `json:"references"`
	} `json:"document"`
	ProductTree struct {
		Branches         []Branch      `json:"branches"`
		FullProductNames []ProductName `json:"full_product_names"`
		Relationships    []struct {
			Category                  string      `json:"category"`
			FullProductName           ProductName `json:"full_product_name"`
			ProductReference          string      `json:"product_reference"`
			RelatesToProductReference string      `json:"relates_to_product_reference"`
		} `json:"relationships"`
	} `json:"product_tree"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
}

// Note is a CSAF note.
type Note struct {
	Category string `json:"category"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

// Reference is a CSAF reference.
type Reference struct {
	Category string `json:"category"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

// Branch is a node of the product tree.
type Branch struct {
	Category string       `json:"category"`
	Name     string       `json:"name"`
	Product  *ProductName `json:"product"`
	Branches []Branch     `json:"branches"`
}

// ProductName is a full product name with its identification helper.
type ProductName struct {
	Name      string `json:"name"`
	ProductID string `json:"product_id"`
	Helper    *struct {
		CPE  string `json:"cpe"`
		PURL string `json:"purl"`
	} `json:"product_identification_helper"`
}

// Vulnerability is one entry of vulnerabilities[].
type Vulnerability struct {
	CVE string `json:"cve"`
	CWE *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"cwe"`
	Title         string              `json:"title"`
	Notes         []Note              `json:"notes"`
	ReleaseDate   string              `json:"release_date"`
	ProductStatus map[string][]string `json:"product_status"`
	References    []Reference         `json:"references"`
	Scores        []struct {
		CVSSV3 *struct {
			Version      string  `json:"version"`
			VectorString string  `json:"vectorString"`
			BaseScore    float64 `json:"baseScore"`
			BaseSeverity string  `json:"baseSeverity"`
		} `json:"cvss_v3"`
		CVSSV2 *struct {
			VectorString string  `json:"vectorString"`
			BaseScore    float64 `json:"baseScore"`
		} `json:"cvss_v2"`
		Products []string `json:"products"`
	} `json:"scores"`
	Threats []struct {
		Category string `json:"category"`
		Details  string `json:"details"`
	} `json:"threats"`
	Remediations []struct {
		Category   string   `json:"category"`
		Details    string   `json:"details"`
		ProductIDs []string `json:"product_ids"`
	} `json:"remediations"`
}

// NoFix reports whether a remediation says no fix will come for the
// product (category no_fix_planned).
func (v *Vulnerability) NoFix(productID string) bool {
	for _, r := range v.Remediations {
		if r.Category == "no_fix_planned" && contains(r.ProductIDs, productID) {
			return true
		}
	}
	return false
}

// Parse reads one CSAF 2.0 document and checks the fields every
// document must have.
func Parse(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDoc {
		return nil, fmt.Errorf("CSAF document exceeds %d bytes", MaxDoc)
	}
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("CSAF JSON: %w", err)
	}
	if d.Document.CSAFVersion == "" || d.Document.Tracking.ID == "" {
		return nil, errors.New("not a CSAF document: document.csaf_version or document.tracking.id missing")
	}
	if !strings.HasPrefix(d.Document.CSAFVersion, "2.") {
		return nil, fmt.Errorf("CSAF version %q is not supported (2.x is)", d.Document.CSAFVersion)
	}
	return &d, nil
}

// Product is a resolved product id: its own name and identifiers and,
// for a relationship ("X as a component of Y"), the component and the
// platform it belongs to.
type Product struct {
	ID        string
	Name      string
	PURL      string
	CPE       string
	Component *Product // for relationships: the product_reference
	Platform  *Product // for relationships: relates_to_product_reference
}

// Products resolves every product id of the product tree.
func (d *Document) Products() map[string]*Product {
	m := map[string]*Product{}
	add := func(p *ProductName) {
		if p == nil || p.ProductID == "" {
			return
		}
		pr := &Product{ID: p.ProductID, Name: p.Name}
		if p.Helper != nil {
			pr.PURL, pr.CPE = p.Helper.PURL, p.Helper.CPE
		}
		m[p.ProductID] = pr
	}
	var walk func([]Branch, int)
	walk = func(bs []Branch, depth int) {
		if depth > 64 { // the schema has no limit; real trees are < 10 deep
			return
		}
		for i := range bs {
			add(bs[i].Product)
			walk(bs[i].Branches, depth+1)
		}
	}
	walk(d.ProductTree.Branches, 0)
	for i := range d.ProductTree.FullProductNames {
		add(&d.ProductTree.FullProductNames[i])
	}
	for _, r := range d.ProductTree.Relationships {
		id := r.FullProductName.ProductID
		if id == "" {
			continue
		}
		m[id] = &Product{ID: id, Name: r.FullProductName.Name, Component: m[r.ProductReference], Platform: m[r.RelatesToProductReference]}
	}
	return m
}

// States maps CSAF product status groups to Stella states. Groups that say
// nothing about the product's exposure (recommended) are left out.
var States = map[string]string{
	"fixed":               feed.StateFixed,
	"first_fixed":         feed.StateFixed,
	"known_affected":      feed.StateOpen,
	"first_affected":      feed.StateOpen,
	"last_affected":       feed.StateOpen,
	"under_investigation": feed.StateOpen,
	"known_not_affected":  feed.StateNotAffected,
}

// Status is one (vulnerability, status group, product) triple.
type Status struct {
	Vuln    *Vulnerability
	Group   string // fixed, known_affected, …
	State   string
	Product *Product
}

// Statuses lists every product status of every vulnerability, in
// document order with groups sorted, unknown product ids resolved to a
// bare product.
func (d *Document) Statuses() []Status {
	prods := d.Products()
	var out []Status
	for i := range d.Vulnerabilities {
		v := &d.Vulnerabilities[i]
		groups := make([]string, 0, len(v.ProductStatus))
		for g := range v.ProductStatus {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		for _, g := range groups {
			state, ok := States[g]
			if !ok {
				continue
			}
			for _, id := range v.ProductStatus[g] {
				p := prods[id]
				if p == nil {
					p = &Product{ID: id, Name: id}
				}
				st := state
				if st == feed.StateOpen && v.NoFix(id) {
					st = feed.StateWillNotFix
				}
				out = append(out, Status{Vuln: v, Group: g, State: st, Product: p})
			}
		}
	}
	return out
}

// PURL is a parsed package URL (enough of it for Stella's records).
type PURL struct {
	Type, Namespace, Name, Version string
	Qualifiers                     url.Values
}

// ParsePURL parses "pkg:type/namespace/name@version?qualifiers#subpath".
// A purl embedded in a product id ("pkg:maven/a/b@1.33@pkg:oci/…") ends
// at the second "@".
func ParsePURL(s string) (PURL, bool) {
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return PURL{}, false
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, query, _ := strings.Cut(rest, "?")
	var p PURL
	p.Qualifiers, _ = url.ParseQuery(query)
	pathPart, version, _ := strings.Cut(rest, "@")
	if i := strings.Index(version, "@"); i >= 0 {
		version = version[:i]
	}
	p.Version, _ = url.PathUnescape(version)
	segs := strings.Split(strings.Trim(pathPart, "/"), "/")
	if len(segs) < 2 || segs[0] == "" {
		return PURL{}, false
	}
	p.Type = strings.ToLower(segs[0])
	p.Name, _ = url.PathUnescape(segs[len(segs)-1])
	if len(segs) > 2 {
		ns := make([]string, 0, len(segs)-2)
		for _, s := range segs[1 : len(segs)-1] {
			u, _ := url.PathUnescape(s)
			ns = append(ns, u)
		}
		p.Namespace = strings.Join(ns, "/")
	}
	return p, p.Name != ""
}

// PackageName is the name as the ecosystem spells it: Maven
// "group:artifact", npm "@scope/name", Go "host/path/name", else the name.
func (p PURL) PackageName() string {
	if p.Namespace == "" {
		return p.Name
	}
	switch p.Type {
	case "maven":
		return p.Namespace + ":" + p.Name
	case "npm", "golang", "composer", "swift", "github":
		return p.Namespace + "/" + p.Name
	default:
		return p.Name
	}
}

// ecosystemPURL is the purl without version and qualifiers.
func (p PURL) String() string {
	s := "pkg:" + p.Type + "/"
	if p.Namespace != "" {
		s += p.Namespace + "/"
	}
	s += p.Name
	if p.Version != "" {
		s += "@" + p.Version
	}
	return s
}

// Affected maps a status to a feed.Affected for an ecosystem package
// (the product's purl, or its component's). The platform the package is
// a component of (an image, an appliance) goes to Release, so that a
// product-scoped VEX statement is not read as a statement about every copy
// of the package. ok is false when no purl names the package.
func (s Status) Affected() (feed.Affected, bool) {
	p := s.Product
	comp := p
	if p.Component != nil {
		comp = p.Component
	}
	if comp.PURL == "" && strings.HasPrefix(comp.ID, "pkg:") {
		comp = &Product{ID: comp.ID, PURL: comp.ID}
	}
	pu, ok := ParsePURL(comp.PURL)
	if !ok {
		return feed.Affected{}, false
	}
	a := feed.Affected{Ecosystem: pu.Type, Package: pu.PackageName(), PURL: pu.String(), State: s.State}
	if p.Platform != nil {
		a.Release = firstNonEmpty(p.Platform.PURL, p.Platform.CPE, p.Platform.Name, p.Platform.ID)
	}
	switch {
	case s.State == feed.StateFixed:
		a.FixedVersion = pu.Version
	case (s.State == feed.StateOpen || s.State == feed.StateWillNotFix) && pu.Version != "":
		a.Versions = []string{pu.Version}
	}
	return a, true
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Severities returns the scores of a vulnerability as feed severities.
func (v *Vulnerability) Severities(source string) []feed.Severity {
	var out []feed.Severity
	seen := map[string]bool{}
	for _, s := range v.Scores {
		if c := s.CVSSV3; c != nil && c.VectorString != "" && !seen[c.VectorString] {
			seen[c.VectorString] = true
			sev := feed.Severity{Source: source, Type: "CVSS_V3", Vector: c.VectorString, Score: c.BaseScore, Label: strings.ToUpper(c.BaseSeverity)}
			if sev.Score == 0 {
				if sc, ok := cvss.BaseScore(c.VectorString); ok {
					sev.Score = sc
				}
			}
			if sev.Label == "" && sev.Score > 0 {
				sev.Label = cvss.Label(sev.Score, false)
			}
			out = append(out, sev)
		}
		if c := s.CVSSV2; c != nil && c.VectorString != "" && !seen[c.VectorString] {
			seen[c.VectorString] = true
			out = append(out, feed.Severity{Source: source, Type: "CVSS_V2", Vector: c.VectorString, Score: c.BaseScore, Label: cvss.Label(c.BaseScore, true)})
		}
	}
	return out
}

// Description is the vulnerability's description note, or its summary.
func (v *Vulnerability) Description() string {
	for _, cat := range []string{"description", "summary"} {
		for _, n := range v.Notes {
			if n.Category == cat {
				return n.Text
			}
		}
	}
	return ""
}

// Time parses a CSAF date-time; zero when absent or malformed.
func Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Records turns a document into feed records for source. A VEX document
// (category csaf_vex) gives one record per vulnerability, keyed by its CVE,
// because statuses differ per vulnerability; an advisory gives one record
// keyed by its tracking id with its CVEs as aliases. affected maps each
// status (nil: Status.Affected).
func (d *Document) Records(source string, affected func(Status) (feed.Affected, bool)) []feed.Record {
	if affected == nil {
		affected = Status.Affected
	}
	tr := d.Document.Tracking
	base := feed.Record{
		Source:    source,
		Published: Time(tr.InitialReleaseDate),
		Modified:  Time(tr.CurrentReleaseDate),
		Withdrawn: strings.EqualFold(tr.Status, "withdrawn"),
		Status:    tr.Status,
		Summary:   d.Document.Title,
	}
	for _, r := range d.Document.References {
		if r.URL != "" {
			base.URLs = append(base.URLs, r.URL)
		}
	}
	var aggregate []feed.Severity
	if as := d.Document.AggregateSeverity; as != nil && as.Text != "" {
		aggregate = []feed.Severity{{Source: source, Label: as.Text}}
	}
	statuses := d.Statuses()
	perVuln := d.Document.Category == "csaf_vex" && len(d.Vulnerabilities) > 1
	if !perVuln {
		r := base
		r.ID = tr.ID
		r.Severity = aggregate
		for i := range d.Vulnerabilities {
			v := &d.Vulnerabilities[i]
			addVuln(&r, v, source)
		}
		for _, s := range statuses {
			if a, ok := affected(s); ok {
				r.Affected = appendAffected(r.Affected, a)
			}
		}
		return []feed.Record{r}
	}
	var out []feed.Record
	for i := range d.Vulnerabilities {
		v := &d.Vulnerabilities[i]
		r := base
		r.ID = v.CVE
		if r.ID == "" {
			r.ID = fmt.Sprintf("%s#%d", tr.ID, i+1)
		}
		r.Aliases = []string{tr.ID}
		r.URLs = append([]string(nil), base.URLs...)
		addVuln(&r, v, source)
		for _, s := range statuses {
			if s.Vuln != v {
				continue
			}
			if a, ok := affected(s); ok {
				r.Affected = appendAffected(r.Affected, a)
			}
		}
		out = append(out, r)
	}
	return out
}

func addVuln(r *feed.Record, v *Vulnerability, source string) {
	if v.CVE != "" && v.CVE != r.ID && !contains(r.Aliases, v.CVE) {
		r.Aliases = append(r.Aliases, v.CVE)
	}
	if v.CWE != nil && v.CWE.ID != "" && !contains(r.CWEs, v.CWE.ID) {
		r.CWEs = append(r.CWEs, v.CWE.ID)
	}
	if r.Details == "" {
		r.Details = v.Description()
	}
	for _, ref := range v.References {
		if ref.URL != "" && !contains(r.URLs, ref.URL) {
			r.URLs = append(r.URLs, ref.URL)
		}
	}
	for _, s := range v.Severities(source) {
		if !containsSeverity(r.Severity, s) {
			r.Severity = append(r.Severity, s)
		}
	}
}

func appendAffected(list []feed.Affected, a feed.Affected) []feed.Affected {
	for _, x := range list {
		if x.Ecosystem == a.Ecosystem && x.Package == a.Package && x.Distro == a.Distro && x.Release == a.Release &&
			x.FixedVersion == a.FixedVersion && x.State == a.State && x.PURL == a.PURL {
			return list
		}
	}
	return append(list, a)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func containsSeverity(s []feed.Severity, v feed.Severity) bool {
	for _, x := range s {
		if x.Type == v.Type && x.Vector == v.Vector && x.Label == v.Label {
			return true
		}
	}
	return false
}
