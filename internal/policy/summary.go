package policy

import (
	"slices"
	"sort"
	"strings"
)

// Summary groups the findings by the facts the default rules decide on:
// severity, whether a fix exists, KEV, VEX status and advisory state. A
// rule over a scan with a thousand findings then visits a few dozen
// groups instead of every finding, which is what keeps a decision within
// its budget (BenchmarkEvaluate1000). It is derived from Findings, never
// trusted from outside: Normalize computes it, and the bundle computes the
// same in Rego (data.stella.lib.summary) for an input that arrives at an
// OPA server without one (TestSummaryMatchesRego).
type Summary struct {
	Findings int     `json:"findings"` // how many findings the input has
	Groups   []Group `json:"groups"`   // sorted by their key, as Rego sorts arrays
	// Aliases maps each alias to the ids of the findings that carry it, so
	// that a waiver for a GHSA id finds its CVE without visiting findings.
	Aliases map[string][]string `json:"aliases"`
}

// Group is the findings that share one key.
type Group struct {
	Severity string   `json:"severity"` // CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN
	Fixable  bool     `json:"fixable"`  // at least one fixed version
	KEV      bool     `json:"kev"`
	VEX      string   `json:"vex"`   // the VEX status, empty when none applies
	State    string   `json:"state"` // the advisory state
	IDs      []string `json:"ids"`   // the findings' ids, sorted, each once
}

type groupKey struct {
	severity   string
	fixable    bool
	kev        bool
	vex, state string
}

// compare orders keys as OPA orders the arrays [severity, fixable, kev,
// vex, state]: strings by bytes, false before true.
func (a groupKey) compare(b groupKey) int {
	if c := strings.Compare(a.severity, b.severity); c != 0 {
		return c
	}
	if c := compareBool(a.fixable, b.fixable); c != 0 {
		return c
	}
	if c := compareBool(a.kev, b.kev); c != 0 {
		return c
	}
	if c := strings.Compare(a.vex, b.vex); c != 0 {
		return c
	}
	return strings.Compare(a.state, b.state)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// summarize builds the summary of findings.
func summarize(fs []Finding) *Summary {
	s := &Summary{Findings: len(fs), Groups: []Group{}, Aliases: map[string][]string{}}
	index := map[groupKey]int{}
	for i := range fs {
		f := &fs[i]
		k := groupKey{severity: normalSeverity(f.Severity), fixable: len(f.Fixed) > 0, kev: f.KEV, vex: f.VEX.Status, state: f.State}
		g, ok := index[k]
		if !ok {
			g = len(s.Groups)
			index[k] = g
			s.Groups = append(s.Groups, Group{Severity: k.severity, Fixable: k.fixable, KEV: k.kev, VEX: k.vex, State: k.state})
		}
		s.Groups[g].IDs = append(s.Groups[g].IDs, f.ID)
		for _, a := range f.Aliases {
			s.Aliases[a] = append(s.Aliases[a], f.ID)
		}
	}
	for i := range s.Groups {
		s.Groups[i].IDs = sortedSet(s.Groups[i].IDs)
	}
	sort.Slice(s.Groups, func(i, j int) bool {
		a, b := &s.Groups[i], &s.Groups[j]
		return groupKey{a.Severity, a.Fixable, a.KEV, a.VEX, a.State}.compare(groupKey{b.Severity, b.Fixable, b.KEV, b.VEX, b.State}) < 0
	})
	for a, ids := range s.Aliases {
		s.Aliases[a] = sortedSet(ids)
	}
	return s
}

// sortedSet sorts ss and drops repeats, in place.
func sortedSet(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// summary is the input's summary, computed when the input has none (one
// built by hand rather than through InputFrom or Normalize).
func (in *Input) summary() *Summary {
	if in.Summary != nil {
		return in.Summary
	}
	return summarize(in.Findings)
}
