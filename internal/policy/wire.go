package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The decision document, data.stella.decision.result, as Rego builds it:
//
//	{"verdict": "fail", "allow": false,
//	 "deny": {"acme.images.deny": ["…", …], "stella.builtin.deny": [{"msg": "…", "finding": "CVE-…"}, …]},
//	 "warn": {…},
//	 "waived": [{"level": "deny", "key": "stella.builtin.deny", "value": {…}, "waiver": {…}}],
//	 "expiredWaivers": [{…waiver…}]}
//
// deny and warn map "<package>.<rule>" to the rule's messages: a string,
// an object (msg, finding, anything else as details) or true.
// decodeDecision turns the document into a Decision. The in-process engine
// hands it the evaluated value and Remote the parsed JSON answer of an OPA
// server, so both give the same Decision for the same document.

// decodeDecisionJSON parses a JSON decision document.
func decodeDecisionJSON(b []byte) (*Decision, error) {
	v, err := ast.ValueFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("policy decision: %w", err)
	}
	return decodeDecision(v)
}

func decodeDecision(v ast.Value) (*Decision, error) {
	o, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("policy decision: want an object, got %s (is the bundle Stella's?)", ast.ValueName(v))
	}
	d := &Decision{Verdict: getString(o, "verdict")}
	switch d.Verdict {
	case VerdictPass, VerdictWarn, VerdictFail:
	default:
		return nil, fmt.Errorf("policy decision: verdict %q: want pass, warn or fail (is the bundle Stella's?)", d.Verdict)
	}
	if b, ok := get(o, "allow").(ast.Boolean); ok {
		d.Allow = bool(b)
	}
	var err error
	rules(get(o, "deny"), func(policy, rule string, msg ast.Value) {
		d.Deny = append(d.Deny, messageReason("deny", policy, rule, msg))
	})
	rules(get(o, "warn"), func(policy, rule string, msg ast.Value) {
		d.Warn = append(d.Warn, messageReason("warn", policy, rule, msg))
	})
	each(get(o, "waived"), func(t *ast.Term) {
		wo, ok := t.Value.(ast.Object)
		if !ok {
			return
		}
		policy, rule := splitKey(getString(wo, "key"))
		r := messageReason(getString(wo, "level"), policy, rule, get(wo, "value"))
		if wv := get(wo, "waiver"); wv != nil {
			var w Waiver
			if e := ast.As(wv, &w); e != nil && err == nil {
				err = e
			}
			r.Waiver = &w
		}
		d.Waived = append(d.Waived, r)
	})
	each(get(o, "expiredWaivers"), func(t *ast.Term) {
		var w Waiver
		if e := ast.As(t.Value, &w); e != nil && err == nil {
			err = e
		}
		d.ExpiredWaivers = append(d.ExpiredWaivers, w)
	})
	if err != nil {
		return nil, fmt.Errorf("policy decision: a waiver: %w", err)
	}
	d.Deny, d.Warn = mergeReasons(d.Deny), mergeReasons(d.Warn)
	d.normalize()
	for _, rs := range [][]Reason{d.Deny, d.Warn, d.Waived} {
		sortReasons(rs)
	}
	return d, nil
}

// mergeReasons makes one reason of the messages of one rule that say the
// same thing (message and details) about different findings, citing all
// of them: the built-in rules give a message per group of findings, and
// a decision one per severity.
func mergeReasons(rs []Reason) []Reason {
	out := rs[:0]
	at := map[string]int{}
	for _, r := range rs {
		if r.Findings == nil {
			out = append(out, r)
			continue
		}
		details, _ := json.Marshal(r.Details) // sorted keys
		k := strings.Join([]string{r.Policy, r.Rule, r.Msg, string(details)}, "\x00")
		if i, ok := at[k]; ok {
			out[i].Findings = append(out[i].Findings, r.Findings...)
			continue
		}
		at[k] = len(out)
		r.Findings = slices.Clone(r.Findings)
		out = append(out, r)
	}
	for i := range out {
		if out[i].Findings != nil {
			slices.Sort(out[i].Findings)
			out[i].Findings = slices.Compact(out[i].Findings)
		}
	}
	return out
}

func get(o ast.Object, k string) ast.Value {
	t := o.Get(ast.InternedTerm(k))
	if t == nil {
		return nil
	}
	return t.Value
}

func getString(o ast.Object, k string) string {
	if s, ok := get(o, k).(ast.String); ok {
		return string(s)
	}
	return ""
}

// each visits the members of a set (in-process) or an array (JSON).
func each(v ast.Value, f func(*ast.Term)) {
	switch c := v.(type) {
	case ast.Set:
		c.Foreach(f)
	case *ast.Array:
		c.Foreach(f)
	}
}

// rules visits every message of a deny or warn object.
func rules(v ast.Value, f func(policy, rule string, msg ast.Value)) {
	o, ok := v.(ast.Object)
	if !ok {
		return
	}
	o.Foreach(func(k, msgs *ast.Term) {
		ks, ok := k.Value.(ast.String)
		if !ok {
			return
		}
		policy, rule := splitKey(string(ks))
		each(msgs.Value, func(m *ast.Term) { f(policy, rule, m.Value) })
	})
}

// splitKey splits "acme.images.deny_latest" into its package and rule: a
// rule name has no dot.
func splitKey(k string) (policy, rule string) {
	i := strings.LastIndexByte(k, '.')
	if i < 0 {
		return "", k
	}
	return k[:i], k[i+1:]
}

// messageReason turns one message into a Reason: a string is the
// message; an object gives msg, finding or findings, and details; true
// names the rule.
func messageReason(level, policy, rule string, v ast.Value) Reason {
	r := Reason{Level: level, Policy: policy, Rule: rule}
	switch val := v.(type) {
	case ast.String:
		r.Msg = string(val)
	case ast.Object:
		if m, ok := get(val, "msg").(ast.String); ok {
			r.Msg = string(m)
		} else {
			r.Msg = jsonText(val)
		}
		r.Finding = getString(val, "finding")
		if ids, ok := get(val, "findings").(*ast.Array); ok {
			r.Findings = stringsOf(ids)
		}
		val.Foreach(func(k, x *ast.Term) {
			ks, ok := k.Value.(ast.String)
			if !ok || ks == "msg" || ks == "finding" || (ks == "findings" && r.Findings != nil) {
				return
			}
			if r.Details == nil {
				r.Details = map[string]any{}
			}
			j, err := ast.JSON(x.Value)
			if err != nil {
				j = x.Value.String()
			}
			r.Details[string(ks)] = j
		})
	case ast.Boolean, nil:
		r.Msg = policy + "." + rule
	default:
		r.Msg = jsonText(val)
	}
	return r
}

// stringsOf returns the strings of an array of strings; nil when any
// member is not a string (then the array is kept among the details).
func stringsOf(a *ast.Array) []string {
	out := make([]string, 0, a.Len())
	for i := range a.Len() {
		s, ok := a.Elem(i).Value.(ast.String)
		if !ok {
			return nil
		}
		out = append(out, string(s))
	}
	return out
}

func jsonText(v ast.Value) string {
	j, err := ast.JSON(v)
	if err != nil {
		return v.String()
	}
	b, err := json.Marshal(j)
	if err != nil {
		return v.String()
	}
	return string(b)
}
