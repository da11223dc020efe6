# The default rules: fail on critical or high findings that have a fix,
# fail on any finding in CISA's Known Exploited Vulnerabilities catalog,
# warn on findings with no fix. Thresholds live in data
# (stella/defaults/data.json, overridden by data.stella.config).
#
# The rules read the summary's groups, never every finding: a scan with a
# thousand findings has a few dozen groups (see BenchmarkEvaluate1000).
# A reason cites its findings by id in "findings"; a waiver for one of
# them takes it out of the reason (stella.decision).
package stella.builtin

import data.stella.lib

deny contains r if {
	some sev in lib.fail_fixed_severities
	ids := {id | some g in lib.open_groups; g.fixable; g.severity == sev; some id in g.ids}
	count(ids) > 0
	r := {"msg": sprintf("%s vulnerabilities with a fix available", [sev]), "findings": sort(ids), "severity": sev}
}

deny contains r if {
	lib.config.failOnKEV == true
	ids := {id | some g in lib.open_groups; g.kev; some id in g.ids}
	count(ids) > 0
	r := {"msg": "vulnerabilities known to be exploited (CISA KEV)", "findings": sort(ids), "kev": true}
}

warn contains r if {
	lib.config.warnUnfixed == true
	some sev in lib.warn_unfixed_severities
	ids := {id | some g in lib.open_groups; not g.fixable; g.severity == sev; some id in g.ids}
	count(ids) > 0
	r := {"msg": sprintf("%s vulnerabilities with no fix available", [sev]), "findings": sort(ids), "severity": sev}
}
