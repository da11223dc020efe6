# The default rules: fail on critical or high findings that have a fix,
# fail on any finding in CISA's Known Exploited Vulnerabilities catalog,
# warn on findings with no fix. Thresholds live in data
# (stella/defaults/data.json, overridden by data.stella.config).
#
# The rules read the summary's groups, never every finding: a scan with a
# thousand findings has a few dozen groups (see BenchmarkEvaluate1000).
# A reason cites a group's findings by id in "findings"; a waiver for one
# of them takes it out of the reason (stella.decision). Stella reads the
# reasons of one rule that say the same as one reason citing all their
# findings (internal/policy/wire.go), so a decision has one reason per
# severity.
package stella.builtin

import data.stella.lib

deny contains r if {
	sevs := lib.fail_fixed_severities
	some g in lib.open_groups
	g.fixable
	g.severity in sevs
	r := {"msg": sprintf("%s vulnerabilities with a fix available", [g.severity]), "findings": g.ids, "severity": g.severity}
}

deny contains r if {
	lib.config.failOnKEV == true
	some g in lib.open_groups
	g.kev
	r := {"msg": "vulnerabilities known to be exploited (CISA KEV)", "findings": g.ids, "kev": true}
}

warn contains r if {
	lib.config.warnUnfixed == true
	sevs := lib.warn_unfixed_severities
	some g in lib.open_groups
	not g.fixable
	g.severity in sevs
	r := {"msg": sprintf("%s vulnerabilities with no fix available", [g.severity]), "findings": g.ids, "severity": g.severity}
}
