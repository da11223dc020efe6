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
_covers(w) := {w.id} | {f.id | some f in input.findings; w.id in f.aliases}

_cover := {[id, i] | some i, w in active_waivers; some id in _covers(w)}

waived_ids := {id | some [id, _] in _cover}

# waiver_for is the first active waiver covering finding id.
waiver_for(id) := active_waivers[min({i | some [x, i] in _cover; x == id})]

# findings are the input's findings less the waived ones, for organisation
# rules that want waivers to apply before they look.
findings := [f | some f in input.findings; not f.id in waived_ids]
