package policy

import (
	"context"
	"fmt"
	"strings"
)

// Verdicts, worst first.
const (
	VerdictFail = "fail"
	VerdictWarn = "warn"
	VerdictPass = "pass"
)

// DecisionPath is where the decision document lives under data; an OPA
// server answers it at POST /v1/data/stella/decision/result.
const DecisionPath = "stella/decision/result"

// Decision is the policy's answer for one input. It is what the bundle's
// data.stella.decision.result evaluates to, in-process or on an OPA server.
type Decision struct {
	Verdict string `json:"verdict"` // pass, warn or fail
	Allow   bool   `json:"allow"`   // verdict != fail
	// Deny and Warn are the reasons that count, from every loaded
	// package's deny and warn rules, sorted.
	Deny []Reason `json:"deny"`
	Warn []Reason `json:"warn"`
	// Waived are reasons an active waiver set aside.
	Waived []Reason `json:"waived"`
	// ExpiredWaivers matched this image but are past their date; they
	// waive nothing and are listed so that someone renews or removes them.
	ExpiredWaivers []Waiver `json:"expiredWaivers"`
}

// Reason is one message of a deny or warn rule.
type Reason struct {
	Level  string `json:"level"`  // deny or warn
	Policy string `json:"policy"` // the Rego package, e.g. stella.builtin
	Rule   string `json:"rule"`   // deny, warn, deny_xxx…
	Msg    string `json:"msg"`
	// Finding is the finding id the reason cites, when it cites one; a
	// waiver for that id (or one of its aliases) sets the reason aside.
	Finding string `json:"finding,omitempty"`
	// Findings are the ids a reason about many findings cites (the
	// default rules give one reason per severity); a waiver takes its
	// finding out of the list, and the reason when none is left.
	Findings []string `json:"findings,omitempty"`
	// Details holds whatever else the rule returned in its object.
	Details map[string]any `json:"details,omitempty"`
	Waiver  *Waiver        `json:"waiver,omitempty"` // set in Decision.Waived
}

// Waiver sets aside the reasons citing one vulnerability for the images
// its glob matches, until a date. Waivers are data: a list under
// data.stella.waivers, from any JSON or YAML file of a policy directory.
type Waiver struct {
	ID string `json:"id"` // CVE or any alias
	// Image is a glob over the image name: * stays within one path
	// segment, ** crosses them; empty matches every image.
	Image  string `json:"image,omitempty"`
	Until  string `json:"until"` // YYYY-MM-DD (end of that day, UTC) or RFC 3339
	Reason string `json:"reason,omitempty"`
	Owner  string `json:"owner,omitempty"`
}

// Evaluator decides inputs: the in-process Engine or an OPA server
// (Remote). Both answer with the same Decision for the same bundle.
type Evaluator interface {
	Evaluate(ctx context.Context, in *Input) (*Decision, error)
}

// Cites lists the finding ids the reason cites: Finding or Findings.
func (r *Reason) Cites() []string {
	if r.Finding != "" {
		return []string{r.Finding}
	}
	return r.Findings
}

// citedInText is how many of a reason's findings Text names.
const citedInText = 5

// Text is the reason as one line: its message, then the findings it
// cites, the first few by id and how many more.
func (r *Reason) Text() string {
	if len(r.Findings) == 0 {
		return r.Msg
	}
	var b strings.Builder
	b.WriteString(r.Msg)
	b.WriteString(": ")
	for i, id := range r.Findings[:min(len(r.Findings), citedInText)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id)
	}
	if more := len(r.Findings) - citedInText; more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// Summary is a one-line account of a decision for logs and admission
// messages.
func (d *Decision) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d deny, %d warn, %d waived", d.Verdict, len(d.Deny), len(d.Warn), len(d.Waived))
	return b.String()
}

// normalize makes slices non-nil so that the JSON form is the same
// whichever evaluator produced the decision.
func (d *Decision) normalize() {
	if d.Deny == nil {
		d.Deny = []Reason{}
	}
	if d.Warn == nil {
		d.Warn = []Reason{}
	}
	if d.Waived == nil {
		d.Waived = []Reason{}
	}
	if d.ExpiredWaivers == nil {
		d.ExpiredWaivers = []Waiver{}
	}
}
