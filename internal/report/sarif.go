package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-scan/stella/internal/match"
)

// SARIF 2.1.0 (OASIS), the subset Stella writes. One rule per
// vulnerability, one result per finding located at the file that recorded
// the package; a finding a VEX statement or the distro declared not
// affected carries a suppression.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	HelpURI              string         `json:"helpUri"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Fingerprints map[string]string  `json:"partialFingerprints"`
	Properties   map[string]any     `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

func sarifLevel(label string) string {
	switch label {
	case "CRITICAL", "HIGH":
		return "error"
	case "MEDIUM":
		return "warning"
	}
	return "note"
}

// SARIF writes the findings as SARIF 2.1.0.
func SARIF(w io.Writer, r *Result) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{
		Name: "stella", Version: r.Provenance.StellaVersion, InformationURI: "https://github.com/stella-scan/stella", Rules: []sarifRule{},
	}}, Results: []sarifResult{}}
	ruleIdx := map[string]int{}
	for i := range r.Findings {
		f := &r.Findings[i]
		lbl := label(f)
		ri, ok := ruleIdx[f.ID]
		if !ok {
			ri = len(run.Tool.Driver.Rules)
			ruleIdx[f.ID] = ri
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(f, lbl))
		}
		msg := fmt.Sprintf("%s %s (%s) is affected by %s (%s)", f.Package.Name, f.InstalledVersion, f.Package.Ecosystem, f.ID, lbl)
		if len(f.FixedVersions) > 0 {
			msg += "; fixed in " + strings.Join(f.FixedVersions, ", ")
		}
		if len(f.Evidence) > 0 {
			e := f.Evidence[0]
			msg += fmt.Sprintf(". Evidence: %s %s, %s", e.Source, e.RecordID, e.Compared)
		}
		path := f.Package.Path
		if path == "" {
			path = r.Target
		}
		res := sarifResult{
			RuleID: f.ID, RuleIndex: ri, Level: sarifLevel(lbl),
			Message: sarifText{Text: msg},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: (&url.URL{Path: path}).String()}},
				LogicalLocations: []sarifLogical{{Name: f.Package.Name, FullyQualifiedName: f.Package.PURL, Kind: "package"}},
			}},
			Fingerprints: map[string]string{"stella/v1": f.ID + "|" + f.Package.PURL + "|" + f.Package.Path},
			Properties: map[string]any{
				"installedVersion": f.InstalledVersion, "fixedVersions": nonNil(f.FixedVersions), "state": f.State,
				"layer": f.Package.Layer, "layerIndex": f.Package.LayerIndex, "confidence": f.Confidence, "matcher": f.Matcher,
			},
		}
		if f.VEX != nil && !f.Vulnerable() {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted",
				Justification: strings.TrimSpace("VEX " + f.VEX.Status + " " + f.VEX.Justification + " " + f.VEX.Impact)}}
		} else if f.State == match.StateNotAffected {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: "the distribution states that its package is not affected"}}
		}
		run.Results = append(run.Results, res)
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func sarifRuleOf(f *match.Finding, lbl string) sarifRule {
	short := f.ID
	if f.Summary != "" {
		short = f.Summary
	}
	score := f.Severity.Score
	props := map[string]any{"tags": []string{"security", "vulnerability", strings.ToLower(lbl)}, "precision": "very-high"}
	if f.Confidence == match.ConfidenceLow {
		props["precision"] = "low"
	}
	if score > 0 {
		// GitHub code scanning reads security-severity as a string score.
		props["security-severity"] = strconv.FormatFloat(score, 'f', 1, 64)
	}
	help := fmt.Sprintf("Vulnerability %s\nSeverity: %s (%s)\nAliases: %s", f.ID, lbl, f.Severity.Source, strings.Join(f.Aliases, ", "))
	return sarifRule{
		ID: f.ID, Name: strings.ReplaceAll(f.ID, "-", ""),
		ShortDescription:     sarifText{Text: short},
		FullDescription:      sarifText{Text: short},
		HelpURI:              advisoryURL(f.ID),
		Help:                 sarifText{Text: help, Markdown: strings.ReplaceAll(help, "\n", "  \n")},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(lbl)},
		Properties:           props,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
