package vex

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OpenVEX (https://github.com/openvex/spec): statements[] with a
// vulnerability (an object since v0.2.0, a string before), products (an
// object with @id and identifiers since v0.2.0, strings before) and
// optional subcomponents.
func parseOpenVEX(data []byte) (*Document, error) {
	var doc struct {
		Statements []struct {
			Vulnerability json.RawMessage   `json:"vulnerability"`
			Products      []json.RawMessage `json:"products"`
			Subcomponents []json.RawMessage `json:"subcomponents"`
			Status        string            `json:"status"`
			Justification string            `json:"justification"`
			Impact        string            `json:"impact_statement"`
			Action        string            `json:"action_statement"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("openvex: %w", err)
	}
	out := &Document{Format: FormatOpenVEX}
	for i, s := range doc.Statements {
		st := Statement{Status: normalizeStatus(s.Status), Justification: s.Justification, Impact: s.Impact, Action: s.Action}
		if st.Status == "" {
			return nil, fmt.Errorf("openvex: statement %d: unknown status %q", i, s.Status)
		}
		var vs string
		if json.Unmarshal(s.Vulnerability, &vs) == nil {
			st.Vulnerability = vs
		} else {
			var v struct {
				ID      string   `json:"@id"`
				Name    string   `json:"name"`
				Aliases []string `json:"aliases"`
			}
			if err := json.Unmarshal(s.Vulnerability, &v); err != nil {
				return nil, fmt.Errorf("openvex: statement %d: vulnerability: %w", i, err)
			}
			st.Vulnerability = v.Name
			if st.Vulnerability == "" {
				st.Vulnerability = v.ID
			}
			st.Aliases = v.Aliases
		}
		if st.Vulnerability == "" {
			return nil, fmt.Errorf("openvex: statement %d: no vulnerability", i)
		}
		subs := openVEXProducts(s.Subcomponents)
		for _, p := range openVEXProducts(s.Products) {
			if len(subs) == 0 {
				st.Products = append(st.Products, productOf(p, ""))
				continue
			}
			for _, sub := range subs {
				st.Products = append(st.Products, Product{PURL: sub, Image: p})
			}
		}
		out.Statements = append(out.Statements, st)
	}
	return out, nil
}

// openVEXProducts returns the purls of products given as strings or as
// {"@id": …, "identifiers": {"purl": …}}.
func openVEXProducts(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
			continue
		}
		var p struct {
			ID          string `json:"@id"`
			Identifiers struct {
				PURL string `json:"purl"`
			} `json:"identifiers"`
		}
		if json.Unmarshal(r, &p) != nil {
			continue
		}
		switch {
		case p.Identifiers.PURL != "":
			out = append(out, p.Identifiers.PURL)
		case p.ID != "":
			out = append(out, p.ID)
		}
	}
	return out
}

// productOf makes a product from one purl: an image purl stands for the
// image as a whole.
func productOf(purl, image string) Product {
	if image == "" && strings.HasPrefix(purl, "pkg:oci/") {
		return Product{Image: purl}
	}
	return Product{PURL: purl, Image: image}
}

// CycloneDX VEX: vulnerabilities[] with analysis (state, justification,
// response, detail) and affects[].ref naming components by bom-ref (or a
// BOM-Link urn:cdx:…#ref, or a purl).
func parseCycloneDX(data []byte) (*Document, error) {
	type component struct {
		BOMRef     string      `json:"bom-ref"`
		PURL       string      `json:"purl"`
		Components []component `json:"components"`
	}
	var doc struct {
		Metadata struct {
			Component *component `json:"component"`
		} `json:"metadata"`
		Components      []component `json:"components"`
		Vulnerabilities []struct {
			ID         string `json:"id"`
			References []struct {
				ID string `json:"id"`
			} `json:"references"`
			Analysis *struct {
				State         string   `json:"state"`
				Justification string   `json:"justification"`
				Response      []string `json:"response"`
				Detail        string   `json:"detail"`
			} `json:"analysis"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cyclonedx: %w", err)
	}
	refs := map[string]string{}
	var walk func(cs []component)
	walk = func(cs []component) {
		for _, c := range cs {
			if c.BOMRef != "" && c.PURL != "" {
				refs[c.BOMRef] = c.PURL
			}
			walk(c.Components)
		}
	}
	walk(doc.Components)
	if doc.Metadata.Component != nil {
		walk([]component{*doc.Metadata.Component})
	}
	out := &Document{Format: FormatCycloneDX}
	for i, v := range doc.Vulnerabilities {
		if v.Analysis == nil || v.Analysis.State == "" {
			continue // a vulnerability without analysis states nothing
		}
		st := Statement{
			Vulnerability: v.ID,
			Status:        normalizeStatus(v.Analysis.State),
			Justification: v.Analysis.Justification,
			Impact:        v.Analysis.Detail,
			Action:        strings.Join(v.Analysis.Response, ", "),
		}
		if st.Status == "" {
			return nil, fmt.Errorf("cyclonedx: vulnerability %d (%s): unknown analysis state %q", i, v.ID, v.Analysis.State)
		}
		if st.Vulnerability == "" {
			return nil, fmt.Errorf("cyclonedx: vulnerability %d: no id", i)
		}
		for _, r := range v.References {
			if r.ID != "" {
				st.Aliases = append(st.Aliases, r.ID)
			}
		}
		for _, a := range v.Affects {
			ref := a.Ref
			if strings.HasPrefix(ref, "urn:cdx:") {
				if _, after, ok := strings.Cut(ref, "#"); ok {
					ref = after
				}
			}
			if p, ok := refs[ref]; ok {
				ref = p
			}
			if strings.HasPrefix(ref, "pkg:") {
				st.Products = append(st.Products, productOf(ref, ""))
			}
		}
		out.Statements = append(out.Statements, st)
	}
	return out, nil
}

// CSAF 2.0 VEX profile: product_tree (branches, full_product_names,
// relationships giving "component X of image Y" product ids) and
// vulnerabilities[] with product_status lists, flags (justification
// labels) and threats (impact statements), per product id.
type csafProduct struct {
	ProductID string `json:"product_id"`
	Helper    *struct {
		PURL string `json:"purl"`
	} `json:"product_identification_helper"`
}

type csafBranch struct {
	Product  *csafProduct `json:"product"`
	Branches []csafBranch `json:"branches"`
}

func parseCSAF(data []byte) (*Document, error) {
	var doc struct {
		Document struct {
			Category string `json:"category"`
		} `json:"document"`
		ProductTree struct {
			Branches      []csafBranch  `json:"branches"`
			FullNames     []csafProduct `json:"full_product_names"`
			Relationships []struct {
				FullName  csafProduct `json:"full_product_name"`
				Reference string      `json:"product_reference"`
				RelatesTo string      `json:"relates_to_product_reference"`
			} `json:"relationships"`
		} `json:"product_tree"`
		Vulnerabilities []struct {
			CVE string `json:"cve"`
			IDs []struct {
				Text string `json:"text"`
			} `json:"ids"`
			ProductStatus map[string][]string `json:"product_status"`
			Flags         []struct {
				Label      string   `json:"label"`
				ProductIDs []string `json:"product_ids"`
			} `json:"flags"`
			Threats []struct {
				Category   string   `json:"category"`
				Details    string   `json:"details"`
				ProductIDs []string `json:"product_ids"`
			} `json:"threats"`
			Remediations []struct {
				Category   string   `json:"category"`
				Details    string   `json:"details"`
				ProductIDs []string `json:"product_ids"`
			} `json:"remediations"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("csaf: %w", err)
	}
	purls := map[string]string{} // product id -> purl
	var walk func(bs []csafBranch)
	addProduct := func(p *csafProduct) {
		if p == nil || p.ProductID == "" {
			return
		}
		switch {
		case p.Helper != nil && p.Helper.PURL != "":
			purls[p.ProductID] = p.Helper.PURL
		case strings.HasPrefix(p.ProductID, "pkg:"):
			purls[p.ProductID] = p.ProductID
		}
	}
	walk = func(bs []csafBranch) {
		for _, b := range bs {
			addProduct(b.Product)
			walk(b.Branches)
		}
	}
	walk(doc.ProductTree.Branches)
	for i := range doc.ProductTree.FullNames {
		addProduct(&doc.ProductTree.FullNames[i])
	}
	products := map[string]Product{}
	for id, p := range purls {
		products[id] = productOf(p, "")
	}
	for _, r := range doc.ProductTree.Relationships {
		comp := purls[r.Reference]
		if comp == "" && strings.HasPrefix(r.Reference, "pkg:") {
			comp = r.Reference
		}
		img := purls[r.RelatesTo]
		if img == "" && strings.HasPrefix(r.RelatesTo, "pkg:") {
			img = r.RelatesTo
		}
		if comp != "" && r.FullName.ProductID != "" {
			products[r.FullName.ProductID] = Product{PURL: comp, Image: img}
		}
	}
	out := &Document{Format: FormatCSAF}
	for _, v := range doc.Vulnerabilities {
		id := v.CVE
		var aliases []string
		for _, x := range v.IDs {
			if id == "" {
				id = x.Text
			} else if x.Text != "" {
				aliases = append(aliases, x.Text)
			}
		}
		if id == "" {
			continue
		}
		justification := map[string]string{}
		for _, f := range v.Flags {
			for _, p := range f.ProductIDs {
				justification[p] = f.Label
			}
		}
		impact := map[string]string{}
		for _, t := range v.Threats {
			if t.Category == "impact" {
				for _, p := range t.ProductIDs {
					impact[p] = t.Details
				}
			}
		}
		action := map[string]string{}
		for _, r := range v.Remediations {
			for _, p := range r.ProductIDs {
				action[p] = strings.TrimSpace(r.Category + ": " + r.Details)
			}
		}
		for _, key := range []string{"known_not_affected", "fixed", "first_fixed", "under_investigation", "known_affected", "first_affected", "last_affected"} {
			for _, pid := range v.ProductStatus[key] {
				p, ok := products[pid]
				if !ok {
					if !strings.HasPrefix(pid, "pkg:") {
						continue
					}
					p = productOf(pid, "")
				}
				out.Statements = append(out.Statements, Statement{
					Vulnerability: id, Aliases: aliases, Products: []Product{p}, Status: normalizeStatus(key),
					Justification: justification[pid], Impact: impact[pid], Action: action[pid],
				})
			}
		}
	}
	return out, nil
}
