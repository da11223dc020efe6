# The default rules: fail on critical or high findings that have a fix,
# fail on any finding in CISA's Known Exploited Vulnerabilities catalog,
# warn on findings with no fix. Thresholds live in data
# (stella/defaults/data.json, overridden by data.stella.config).
#
# Each rule runs once per finding of a large scan, so its expressions are
# few, ordered most selective first, the sets they test are bound to
# locals before the loop, and a reason holds only its message and the
# finding it cites (see BenchmarkEvaluate1000).
package stella.builtin

import data.stella.lib

deny contains r if {
	sevs := lib.fail_fixed_severities
	vex := lib.vex_suppressed
	some f in input.findings
	f.fixed[0]
	f.severity in sevs
	not f.vex.status in vex
	not f.state == "not_affected"
	r := {
		"msg": sprintf("%s %s in %s %s: fixed in %s", [f.severity, f.id, f.package.name, f.installed, concat(", ", f.fixed)]),
		"finding": f.id,
	}
}

deny contains r if {
	lib.config.failOnKEV == true
	vex := lib.vex_suppressed
	some f in input.findings
	f.kev == true
	not f.vex.status in vex
	not f.state == "not_affected"
	r := {
		"msg": sprintf("%s in %s %s is known to be exploited (CISA KEV)", [f.id, f.package.name, f.installed]),
		"finding": f.id,
		"kev": true,
	}
}

warn contains r if {
	lib.config.warnUnfixed == true
	sevs := lib.warn_unfixed_severities
	vex := lib.vex_suppressed
	some f in input.findings
	not f.fixed[0]
	f.severity in sevs
	not f.vex.status in vex
	not f.state == "not_affected"
	r := {
		"msg": sprintf("%s %s in %s %s: no fix available", [f.severity, f.id, f.package.name, f.installed]),
		"finding": f.id,
	}
}
