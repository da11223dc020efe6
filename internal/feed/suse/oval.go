package suse

import (
	"bytes"
	"encoding/xml"
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

// maxDoc bounds one OVAL document (decompressed); SUSE's largest are a few hundred MB.
const maxDoc = 1 << 30

type criterion struct {
	TestRef string `xml:"test_ref,attr"`
	Comment string `xml:"comment,attr"`
}

type criteria struct {
	Operator  string      `xml:"operator,attr"`
	Criteria  []criteria  `xml:"criteria"`
	Criterion []criterion `xml:"criterion"`
}

type definition struct {
	ID       string `xml:"id,attr"`
	Class    string `xml:"class,attr"`
	Metadata struct {
		Title       string   `xml:"title"`
		Platforms   []string `xml:"affected>platform"`
		Description string   `xml:"description"`
		References  []struct {
			Source string `xml:"source,attr"`
			RefID  string `xml:"ref_id,attr"`
			RefURL string `xml:"ref_url,attr"`
		} `xml:"reference"`
		Advisory struct {
			Severity string `xml:"severity"`
			CVEs     []struct {
				CVSS3  string `xml:"cvss3,attr"`
				Impact string `xml:"impact,attr"`
				Href   string `xml:"href,attr"`
				Text   string `xml:",chardata"`
			} `xml:"cve"`
			Issued struct {
				Date string `xml:"date,attr"`
			} `xml:"issued"`
			Updated struct {
				Date string `xml:"date,attr"`
			} `xml:"updated"`
		} `xml:"advisory"`
	} `xml:"metadata"`
	Criteria criteria `xml:"criteria"`
}

type rpminfoTest struct {
	ID      string `xml:"id,attr"`
	Comment string `xml:"comment,attr"`
	Object  struct {
		Ref string `xml:"object_ref,attr"`
	} `xml:"object"`
	State struct {
		Ref string `xml:"state_ref,attr"`
	} `xml:"state"`
}

type rpminfoState struct {
	ID  string `xml:"id,attr"`
	EVR struct {
		Operation string `xml:"operation,attr"`
		Value     string `xml:",chardata"`
	} `xml:"evr"`
}

// OVAL is a SUSE OVAL definitions document.
type OVAL struct {
	Definitions []definition  `xml:"definitions>definition"`
	Tests       []rpminfoTest `xml:"tests>rpminfo_test"`
	Objects     []struct {
		ID   string `xml:"id,attr"`
		Name string `xml:"name"`
	} `xml:"objects>rpminfo_object"`
	States []rpminfoState `xml:"states>rpminfo_state"`
	// The vunnel fixture (truncated by hand) names the states block "state".
	States2 []rpminfoState `xml:"state>rpminfo_state"`
}

// Parse reads a SUSE OVAL document.
func Parse(r io.Reader) (*OVAL, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDoc {
		return nil, fmt.Errorf("OVAL document exceeds %d bytes", maxDoc)
	}
	if !bytes.Contains(data[:min(len(data), 4096)], []byte("oval_definitions")) {
		return nil, errors.New("not an OVAL definitions document")
	}
	var o OVAL
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("OVAL XML: %w", err)
	}
	return &o, nil
}

var (
	reRelease = regexp.MustCompile(`(\d+)(?:\.(\d+)| SP(\d+))?`)
	reCVE     = regexp.MustCompile(`CVE-\d{4}-\d{4,}`)
	// SUSE-SU-2021:1210-1, SUSE-SR:2010:023, openSUSE-SU-2021:0579-1, SUSE-IU-…
	reAdvisory = regexp.MustCompile(`^(?:open)?SUSE-[A-Z]{2}[-:]\d{4}:\d+`)
)

// platform maps a SUSE product name to os-release ID and VERSION_ID:
// "SUSE Linux Enterprise Server 15 SP1-LTSS" -> sles 15.1, "SUSE Linux
// Enterprise Desktop 15" -> sled 15, "openSUSE Leap 15.3" -> opensuse-leap
// 15.3. Modules and extensions install on SLES, so they map to sles.
func platform(name string) (distro, release string, ok bool) {
	switch {
	case strings.HasPrefix(name, "openSUSE Leap"):
		distro = "opensuse-leap"
	case strings.HasPrefix(name, "SUSE Linux Enterprise Desktop"), strings.HasPrefix(name, "SUSE Linux Enterprise Workstation"):
		distro = "sled"
	case strings.HasPrefix(name, "SUSE Linux Enterprise"):
		distro = "sles"
	default:
		return "", "", false
	}
	m := reRelease.FindStringSubmatch(name)
	if m == nil {
		return "", "", false
	}
	release = m[1]
	if m[2] != "" {
		release += "." + m[2]
	} else if m[3] != "" {
		release += "." + m[3]
	}
	return distro, release, true
}

// splitNVR splits "kernel-default-4.12.14-150.72.1" into name and
// version-release.
func splitNVR(s string) (name, vr string, ok bool) {
	i := strings.LastIndex(s, "-")
	if i <= 0 {
		return "", "", false
	}
	j := strings.LastIndex(s[:i], "-")
	if j <= 0 {
		return "", "", false
	}
	return s[:j], s[j+1:], true
}

type pkgFact struct {
	name, fixed, state string
}

// Records turns vulnerability definitions into records keyed by CVE.
func (o *OVAL) Records() []feed.Record {
	tests := map[string]rpminfoTest{}
	for _, t := range o.Tests {
		tests[t.ID] = t
	}
	objects := map[string]string{}
	for _, ob := range o.Objects {
		objects[ob.ID] = strings.TrimSpace(ob.Name)
	}
	states := map[string]rpminfoState{}
	for _, s := range append(o.States, o.States2...) {
		states[s.ID] = s
	}
	// evr returns the fixed EVR a test checks against ("less than").
	evr := func(ref string) (string, string) {
		t, ok := tests[ref]
		if !ok {
			return "", ""
		}
		s := states[t.State.Ref]
		op := s.EVR.Operation
		if v := strings.TrimSpace(s.EVR.Value); v != "" && (op == "less than" || op == "6") {
			return objects[t.Object.Ref], strings.TrimPrefix(v, "0:")
		}
		return objects[t.Object.Ref], ""
	}
	var out []feed.Record
	for _, d := range o.Definitions {
		if d.Class != "" && d.Class != "vulnerability" && d.Class != "patch" {
			continue
		}
		id := reCVE.FindString(d.Metadata.Title)
		if id == "" {
			id = strings.TrimSpace(d.Metadata.Title)
		}
		if id == "" {
			continue
		}
		r := feed.Record{ID: id, Source: Name, Details: strings.TrimSpace(d.Metadata.Description),
			URLs: []string{"https://www.suse.com/security/cve/" + id}}
		r.Published = parseDate(d.Metadata.Advisory.Issued.Date)
		r.Modified = parseDate(d.Metadata.Advisory.Updated.Date)
		for _, ref := range d.Metadata.References {
			if reAdvisory.MatchString(ref.RefID) && !contains(r.Aliases, ref.RefID) {
				r.Aliases = append(r.Aliases, ref.RefID)
			}
		}
		if sev := strings.TrimSpace(d.Metadata.Advisory.Severity); sev != "" {
			r.Severity = append(r.Severity, feed.Severity{Source: Name, Label: sev})
		}
		for _, c := range d.Metadata.Advisory.CVEs {
			score, vector, ok := strings.Cut(c.CVSS3, "/")
			if !ok || !strings.HasPrefix(vector, "CVSS:3") {
				continue
			}
			who := Name
			if strings.Contains(c.Href, "nvd.nist.gov") {
				who = "nvd@nist.gov"
			}
			s := feed.Severity{Source: who, Type: "CVSS_V3", Vector: vector}
			s.Score, _ = strconv.ParseFloat(score, 64)
			if s.Score == 0 {
				s.Score, _ = cvss.BaseScore(vector)
			}
			if s.Score > 0 {
				s.Label = cvss.Label(s.Score, false)
			}
			r.Severity = append(r.Severity, s)
		}
		platforms := map[string]bool{}
		for _, p := range d.Metadata.Platforms {
			platforms[strings.TrimSpace(p)] = true
		}
		walk(d.Criteria, 0, func(plats []string, pkgs []criterion) {
			for _, pc := range pkgs {
				f, ok := packageFact(pc, evr)
				if !ok {
					continue
				}
				for _, p := range plats {
					distro, release, ok := platform(p)
					if !ok {
						continue
					}
					r.Affected = appendAffected(r.Affected, feed.Affected{Ecosystem: "rpm", Package: f.name, Distro: distro, Release: release, FixedVersion: f.fixed, State: f.state})
				}
			}
		}, platforms)
		out = append(out, r)
	}
	return out
}

// walk finds, in each criteria node, the platforms and packages it
// combines: criterion comments directly in the node or one level down.
func walk(c criteria, depth int, fn func(plats []string, pkgs []criterion), known map[string]bool) {
	if depth > 32 {
		return
	}
	var plats []string
	var pkgs []criterion
	classify := func(cr criterion) {
		if name, ok := strings.CutSuffix(cr.Comment, " is installed"); ok && (known[name] || isPlatformName(name)) {
			plats = append(plats, name)
			return
		}
		pkgs = append(pkgs, cr)
	}
	for _, cr := range c.Criterion {
		classify(cr)
	}
	for _, sub := range c.Criteria {
		if len(sub.Criteria) == 0 {
			for _, cr := range sub.Criterion {
				classify(cr)
			}
		} else {
			walk(sub, depth+1, fn, known)
		}
	}
	if len(plats) > 0 && len(pkgs) > 0 {
		fn(plats, pkgs)
	}
}

func isPlatformName(s string) bool {
	return strings.HasPrefix(s, "SUSE Linux Enterprise") || strings.HasPrefix(s, "openSUSE")
}

// packageFact reads a package criterion: "krb5-1.15.2-4.25 is installed"
// (vulnerable below that version: fixed there) or "kernel-default is not
// affected". The referenced test's state, when present, gives the exact EVR.
func packageFact(cr criterion, evr func(string) (string, string)) (pkgFact, bool) {
	if name, ok := strings.CutSuffix(cr.Comment, " is not affected"); ok && name != "" {
		return pkgFact{name: name, state: feed.StateNotAffected}, true
	}
	nvr, ok := strings.CutSuffix(cr.Comment, " is installed")
	if !ok {
		return pkgFact{}, false
	}
	if name, fixed := evr(cr.TestRef); name != "" && fixed != "" {
		return pkgFact{name: name, fixed: fixed, state: feed.StateFixed}, true
	}
	name, vr, ok := splitNVR(nvr)
	if !ok {
		return pkgFact{}, false
	}
	return pkgFact{name: name, fixed: vr, state: feed.StateFixed}, true
}

func parseDate(s string) time.Time {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
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
