# The decision document, data.stella.decision.result. Stella reads it both
# in-process and from an OPA server.
#
# data.stella.collected is generated at load time: its deny and warn
# objects map "<package>.<rule>" to the messages of that rule, for the deny
# and warn rules (and deny_*, warn_*) of every loaded package, as conftest
# counts them. A message is a string, or an object with msg and, when it
# cites findings, finding (one finding's id) or findings (an array of
# ids); anything else in the object is kept as details.
#
# Without waivers the collected objects are passed on as they are: a large
# scan's messages are never copied (see BenchmarkEvaluate1000).
package stella.decision

import data.stella.lib

_any_waived if count(lib.waived_ids) > 0

# A message cites one finding ("finding": id) or several ("findings":
# [ids]); a waiver covering a cited finding takes it out. Functions, not
# inline refs: Rego hoists a reference out of a negation, so a string
# message (no .finding) would make a whole body undefined.
_cites_many(v) if is_array(v.findings)

_cites_one(v) if {
	is_string(v.finding)
	not _cites_many(v)
}

_cites(v) if _cites_one(v)

_cites(v) if _cites_many(v)

# _kept(v) is message v less the findings waived; undefined when it cited
# only waived findings.
_kept(v) := v if not _cites(v)

_kept(v) := v if {
	_cites_one(v)
	not v.finding in lib.waived_ids
}

_kept(v) := object.union(v, {"findings": rest}) if {
	_cites_many(v)
	rest := [id | some id in v.findings; not id in lib.waived_ids]
	count(rest) > 0
}

_unwaived(rules) := {k: kept |
	some k, vs in rules
	kept := [x | some v in vs; x := _kept(v)]
	count(kept) > 0
}

deny := _unwaived(data.stella.collected.deny) if {
	_any_waived
} else := data.stella.collected.deny

_warn := _unwaived(data.stella.collected.warn) if {
	_any_waived
} else := data.stella.collected.warn

# A waiver whose id or date cannot be read is a mistake worth a warning:
# it waives nothing.
_waiver_problems := [sprintf("waiver %s: needs an id and an until date (YYYY-MM-DD, or RFC 3339 before 2262); it waives nothing", [json.marshal(w)]) |
	some w in lib.invalid_waivers
]

warn := object.union(_warn, {"stella.lib.waivers": _waiver_problems}) if {
	count(_waiver_problems) > 0
} else := _warn

_collected := {"deny": data.stella.collected.deny, "warn": data.stella.collected.warn}

waived contains {"level": level, "key": k, "value": v, "waiver": lib.waiver_for(v.finding)} if {
	_any_waived
	some level, rules in _collected
	some k, vs in rules
	some v in vs
	_cites_one(v)
	v.finding in lib.waived_ids
}

# A reason citing several findings gives one waived entry per finding
# waived, each with the waiver that covers it.
waived contains {"level": level, "key": k, "value": object.union(v, {"findings": [id]}), "waiver": lib.waiver_for(id)} if {
	_any_waived
	some level, rules in _collected
	some k, vs in rules
	some v in vs
	_cites_many(v)
	some id in v.findings
	id in lib.waived_ids
}

_count(rules) := sum([count(vs) | some vs in rules])

verdict := "fail" if {
	_count(deny) > 0
} else := "warn" if {
	_count(warn) > 0
} else := "pass"

result := {
	"verdict": verdict,
	"allow": verdict != "fail",
	"deny": deny,
	"warn": warn,
	"waived": waived,
	"expiredWaivers": lib.expired_waivers,
}
