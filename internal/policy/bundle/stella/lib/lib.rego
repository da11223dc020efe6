# Helpers shared by the default rules, the decision and organisation rules:
# the effective configuration, severity sets, VEX suppression and waivers.
package stella.lib

# The configuration is data, never code: data.stella.defaults (this
# bundle) overridden key by key by data.stella.config (a JSON or YAML file
# of a policy directory holding {"stella": {"config": {…}}}).
default overrides := {}

overrides := data.stella.config

config := object.union(data.stella.defaults, overrides)

# severities_from(min) is the set of severities at least min. An unknown
# min (such as "off") gives the empty set, which turns a rule off.
severities_from(min) := {s |
	floor_rank := config.severityRank[min]
	some s, rank in config.severityRank
	rank >= floor_rank
}

fail_fixed_severities := severities_from(config.failFixedMinSeverity)

warn_unfixed_severities := severities_from(config.warnUnfixedMinSeverity)

# VEX statuses that take a finding out of every default rule.
vex_suppressed := {s | some s in config.vexSuppress}

# ---- the summary ------------------------------------------------------
# summary groups the findings by severity, fix, KEV, VEX status and state
# (internal/policy/summary.go), so that the default rules visit a few
# groups rather than every finding of a large scan:
#   {"findings": 1000, "aliases": {"GHSA-…": ["CVE-…"]},
#    "groups": [{"severity": "HIGH", "fixable": true, "kev": false,
#                "vex": "", "state": "", "ids": ["CVE-…", …]}, …]}
# Stella always sends one. An input without it (written by hand for an
# OPA server) gets the same, computed here from its findings.
summary := input.summary if {
	is_object(input.summary)
} else := _summary_of_findings

# The fallback is the only part of the bundle that reads input.findings:
# Stella leaves the findings out of an in-process input when no other rule
# reads them, and the fallback never runs then, because the input has a
# summary. The comprehensions that gather ids are assigned straight in
# rule bodies, so that OPA indexes them and the fallback stays linear.
_summary_of_findings := {"findings": count(_fallback_keyed), "groups": groups, "aliases": _fallback_aliases} if {
	groups := [{"severity": k[0], "fixable": k[1], "kev": k[2], "vex": k[3], "state": k[4], "ids": ids} |
		some k, ids in _fallback_groups
	]
}

_fallback_keyed := [[_group_key(f), f.id] | some f in object.get(input, "findings", [])]

_fallback_groups[k] := sort(ids) if {
	some k in {k | some [k, _] in _fallback_keyed}
	ids := {id | some [x, id] in _fallback_keyed; x == k}
}

_fallback_pairs := {[a, f.id] | some f in object.get(input, "findings", []); some a in f.aliases}

_fallback_aliases[a] := sort(ids) if {
	some a in {a | some [a, _] in _fallback_pairs}
	ids := {id | some [x, id] in _fallback_pairs; x == a}
}

_group_key(f) := [
	_severity(object.get(f, "severity", "")),
	_has_fix(f),
	_true(object.get(f, "kev", false)),
	object.get(f, ["vex", "status"], ""),
	object.get(f, "state", ""),
]

_has_fix(f) := true if {
	some _ in f.fixed
} else := false

_true(x) := true if {
	x == true
} else := false

_known_severities := {"CRITICAL", "HIGH", "MEDIUM", "LOW"}

# _severity is the label as Stella normalizes it (normalSeverity in Go).
_severity(s) := u if {
	is_string(s)
	u := upper(trim_space(s))
	u in _known_severities
} else := "MEDIUM" if {
	is_string(s)
	upper(trim_space(s)) == "MODERATE"
} else := "UNKNOWN"

# open_groups are the groups that no VEX statement or advisory state takes
# out (see affected).
open_groups := [g |
	some g in summary.groups
	not g.vex in vex_suppressed
	g.state != "not_affected"
]

# affected is false when a VEX statement or the distro says the package is
# not affected (or already fixed) in this image.
affected(f) if {
	not f.vex.status in vex_suppressed
	not f.state == "not_affected"
}

# as_list turns a deny/warn rule's value into its messages: sets and arrays
# as they are, any other value but false as one message.
as_list(x) := x if is_set(x)

as_list(x) := x if is_array(x)

as_list(x) := [x] if {
	not is_set(x)
	not is_array(x)
	x != false
}

# ---- waivers ----------------------------------------------------------
# data.stella.waivers: [{"id": "CVE-…", "image": "registry.example.com/team/**",
#                        "until": "2025-12-31", "reason": "…", "owner": "…"}]

default waivers := []

waivers := data.stella.waivers

_date_only := `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`

_now := time.now_ns()

_today := sprintf("%04d-%02d-%02d", time.date(_now))

# A date waiver lasts to the end of that day (UTC): ISO dates compare as
# strings, which also works past 2262, where nanoseconds end.
_is_date(w) if {
	is_string(w.until)
	regex.match(_date_only, w.until)
}

_until_ns(w) := time.parse_rfc3339_ns(w.until) if {
	is_string(w.until)
	not regex.match(_date_only, w.until)
}

_current(w) if {
	_is_date(w)
	w.until >= _today
}

_current(w) if _until_ns(w) >= _now

_past(w) if {
	_is_date(w)
	w.until < _today
}

_past(w) if _until_ns(w) < _now

# An image glob: * stays within a path segment, ** crosses segments. It
# is matched against the image name and, for pinning, its digest.
image_matches(w) if object.get(w, "image", "") == ""

image_matches(w) if glob.match(w.image, ["/"], input.image.name)

image_matches(w) if glob.match(w.image, ["/"], object.get(input.image, "digest", ""))

valid(w) if {
	is_string(w.id)
	w.id != ""
	_is_date(w)
}

valid(w) if {
	is_string(w.id)
	w.id != ""
	_until_ns(w)
}

active_waivers := [w |
	some w in waivers
	valid(w)
	image_matches(w)
	_current(w)
]

expired_waivers := [w |
	some w in waivers
	valid(w)
	image_matches(w)
	_past(w)
]

invalid_waivers := [w |
	some w in waivers
	not valid(w)
]

# A waiver covers its id and every finding that has that id as an alias.
_covers(w) := {w.id} | {id | some id in summary.aliases[w.id]}

_cover := {[id, i] | some i, w in active_waivers; some id in _covers(w)}

waived_ids := {id | some [id, _] in _cover}

# waiver_for is the first active waiver covering finding id.
waiver_for(id) := active_waivers[min({i | some [x, i] in _cover; x == id})]

# findings are the input's findings less the waived ones, for organisation
# rules that want waivers to apply before they look.
findings := [f | some f in input.findings; not f.id in waived_ids]
