package ubuntu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/feed"
)

// VEX is an OpenVEX document as Canonical publishes it (vex/cve/YYYY/CVE-….json).
type VEX struct {
	Context    string `json:"@context"`
	ID         string `json:"@id"`
	Author     string `json:"author"`
	Timestamp  string `json:"timestamp"`
	Version    int    `json:"version"`
	Statements []struct {
		Vulnerability struct {
			ID          string   `json:"@id"`
			Name        string   `json:"name"`
			Description string   `json:"description"`
			Aliases     []string `json:"aliases"`
		} `json:"vulnerability"`
		Timestamp string `json:"timestamp"`
		Products  []struct {
			ID string `json:"@id"`
		} `json:"products"`
		Status        string `json:"status"`
		Justification string `json:"justification"`
	} `json:"statements"`
}

// ParseVEX reads one OpenVEX document.
func ParseVEX(r io.Reader) (*VEX, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDoc {
		return nil, fmt.Errorf("VEX document exceeds %d bytes", maxDoc)
	}
	var v VEX
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("OpenVEX JSON: %w", err)
	}
	if !strings.Contains(v.Context, "openvex") {
		return nil, errors.New("OpenVEX JSON: @context is not openvex")
	}
	return &v, nil
}

// codenames maps Ubuntu series to releases (os-release VERSION_ID).
var codenames = map[string]string{
	"precise": "12.04", "trusty": "14.04", "xenial": "16.04", "yakkety": "16.10", "zesty": "17.04",
	"artful": "17.10", "bionic": "18.04", "cosmic": "18.10", "disco": "19.04", "eoan": "19.10",
	"focal": "20.04", "groovy": "20.10", "hirsute": "21.04", "impish": "21.10", "jammy": "22.04",
	"kinetic": "22.10", "lunar": "23.04", "mantic": "23.10", "noble": "24.04", "oracular": "24.10",
	"plucky": "25.04", "questing": "25.10",
}

// vexProduct is a source package named by a product purl.
type vexProduct struct {
	name, version, distro, release, purl string
}

// parseProduct reads "pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.24?arch=source&distro=jammy".
// Only source products are kept: Stella's distro records name source
// packages, and binaries repeat the same fact per architecture.
func parseProduct(id string) (vexProduct, bool) {
	rest, ok := strings.CutPrefix(id, "pkg:deb/ubuntu/")
	if !ok {
		return vexProduct{}, false
	}
	path, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("arch") != "source" {
		return vexProduct{}, false
	}
	name, version, _ := strings.Cut(path, "@")
	name, _ = url.PathUnescape(name)
	version, _ = url.PathUnescape(version)
	p := vexProduct{name: name, version: version, distro: "ubuntu", purl: id}
	series := q.Get("distro") // jammy, esm-infra/xenial, esm-infra-legacy/trusty
	if i := strings.LastIndex(series, "/"); i >= 0 {
		p.distro, series = "ubuntu-pro", series[i+1:]
	}
	p.release = codenames[series]
	if p.release == "" {
		p.release = series
	}
	return p, name != ""
}

// Records groups the statements by vulnerability: one record per CVE,
// with one affected entry per source package and release.
//
// Status mapping: fixed -> fixed, not_affected -> not_affected, affected
// and under_investigation -> open. The product version of a "fixed"
// statement is the current version of the package, which is fixed; it is
// not necessarily the first fixed version (the USN gives that), so it is
// kept in PURL and not claimed as FixedVersion.
func (v *VEX) Records() []feed.Record {
	byID := map[string]*feed.Record{}
	var order []string
	for _, s := range v.Statements {
		id := s.Vulnerability.Name
		if id == "" {
			continue
		}
		r := byID[id]
		if r == nil {
			r = &feed.Record{ID: id, Source: Name, Details: s.Vulnerability.Description, Modified: parseTime(v.Timestamp)}
			byID[id] = r
			order = append(order, id)
		}
		for _, a := range s.Vulnerability.Aliases {
			// Aliases are URLs; the USN ids are the useful part.
			if i := strings.Index(a, "/notices/"); i >= 0 {
				r.Aliases = appendUnique(r.Aliases, a[i+len("/notices/"):])
			} else if a != "" {
				r.URLs = appendUnique(r.URLs, a)
			}
		}
		state := feed.StateOpen
		switch s.Status {
		case "fixed":
			state = feed.StateFixed
		case "not_affected":
			state = feed.StateNotAffected
		}
		for _, prod := range s.Products {
			p, ok := parseProduct(prod.ID)
			if !ok {
				continue
			}
			af := feed.Affected{Ecosystem: "deb", Package: p.name, PURL: p.purl, Distro: p.distro, Release: p.release, State: state}
			if state == feed.StateOpen && p.version != "" {
				af.Versions = []string{p.version}
			}
			r.Affected = append(r.Affected, af)
		}
	}
	out := make([]feed.Record, 0, len(order))
	for _, id := range order {
		r := byID[id]
		sort.Strings(r.Aliases)
		out = append(out, *r)
	}
	return out
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
