package stella.builtin_test

import data.stella.builtin

# finding builds a finding as the policy input has it: every field present.
finding(id, severity, fixed) := {
	"id": id, "aliases": [],
	"package": {"name": "openssl", "version": "3.0.1", "ecosystem": "deb"},
	"installed": "3.0.1", "fixed": fixed, "state": "",
	"severity": severity, "cvss": {"score": 0, "vector": "", "version": ""},
	"kev": false, "epss": 0, "vex": {"status": "", "justification": ""},
}

with_findings(fs) := {"image": {"name": "registry.example.com/app:1", "layers": []}, "sbom": {"packages": []}, "findings": fs, "provenance": {}}

# The inputs here have no summary: lib.summary computes it from the
# findings, as for an input sent to an OPA server by hand.
ids(set) := {id | some r in set; some id in r.findings}

test_high_with_fix_is_denied if {
	ids(builtin.deny) == {"CVE-1"} with input as with_findings([finding("CVE-1", "HIGH", ["3.0.2"])])
		with data.stella.config as {}
}

test_critical_with_fix_is_denied_and_message_cites_it if {
	some r in builtin.deny with input as with_findings([finding("CVE-2", "CRITICAL", ["3.0.2", "3.1.0"])])
		with data.stella.config as {}
	r.findings == ["CVE-2"]
	r.msg == "CRITICAL vulnerabilities with a fix available"
}

test_medium_with_fix_is_not_denied if {
	count(builtin.deny) == 0 with input as with_findings([finding("CVE-3", "MEDIUM", ["3.0.2"])])
		with data.stella.config as {}
}

test_high_without_fix_warns_and_does_not_deny if {
	inp := with_findings([finding("CVE-4", "HIGH", [])])
	count(builtin.deny) == 0 with input as inp with data.stella.config as {}
	ids(builtin.warn) == {"CVE-4"} with input as inp with data.stella.config as {}
}

test_kev_is_denied_whatever_its_severity_and_fix if {
	f := object.union(finding("CVE-5", "LOW", []), {"kev": true})
	some r in builtin.deny with input as with_findings([f]) with data.stella.config as {}
	r.findings == ["CVE-5"]
	r.kev == true
}

test_vex_not_affected_takes_a_finding_out if {
	f := object.union(finding("CVE-6", "CRITICAL", ["1"]), {"kev": true, "vex": {"status": "not_affected", "justification": "component_not_present"}})
	count(builtin.deny) == 0 with input as with_findings([f]) with data.stella.config as {}
	count(builtin.warn) == 0 with input as with_findings([f]) with data.stella.config as {}
}

test_vex_affected_still_counts if {
	f := object.union(finding("CVE-7", "HIGH", ["1"]), {"vex": {"status": "affected", "justification": ""}})
	ids(builtin.deny) == {"CVE-7"} with input as with_findings([f]) with data.stella.config as {}
}

test_distro_not_affected_state_takes_a_finding_out if {
	f := object.union(finding("CVE-8", "HIGH", ["1"]), {"state": "not_affected"})
	count(builtin.deny) == 0 with input as with_findings([f]) with data.stella.config as {}
}

test_threshold_is_data_critical_only if {
	inp := with_findings([finding("CVE-9", "HIGH", ["1"]), finding("CVE-10", "CRITICAL", ["1"])])
	ids(builtin.deny) == {"CVE-10"} with input as inp with data.stella.config as {"failFixedMinSeverity": "CRITICAL"}
}

test_threshold_is_data_medium_and_up if {
	inp := with_findings([finding("CVE-11", "MEDIUM", ["1"]), finding("CVE-12", "LOW", ["1"])])
	ids(builtin.deny) == {"CVE-11"} with input as inp with data.stella.config as {"failFixedMinSeverity": "MEDIUM"}
}

test_threshold_off if {
	inp := with_findings([finding("CVE-13", "CRITICAL", ["1"])])
	count(builtin.deny) == 0 with input as inp with data.stella.config as {"failFixedMinSeverity": "off"}
}

test_kev_rule_can_be_turned_off if {
	f := object.union(finding("CVE-14", "LOW", []), {"kev": true})
	count(builtin.deny) == 0 with input as with_findings([f]) with data.stella.config as {"failOnKEV": false}
}

test_unfixed_warnings_can_be_raised_to_high if {
	inp := with_findings([finding("CVE-15", "LOW", []), finding("CVE-16", "HIGH", [])])
	ids(builtin.warn) == {"CVE-16"} with input as inp with data.stella.config as {"warnUnfixedMinSeverity": "HIGH"}
}

test_no_findings_no_reasons if {
	count(builtin.deny) + count(builtin.warn) == 0 with input as with_findings([]) with data.stella.config as {}
}

# A reason per group; Stella merges those of one severity (wire.go).
test_reasons_per_severity_cite_every_finding if {
	inp := with_findings([
		finding("CVE-21", "HIGH", ["1"]),
		object.union(finding("CVE-20", "HIGH", ["1"]), {"kev": true}),
		object.union(finding("CVE-22", "HIGH", ["1"]), {"vex": {"status": "affected", "justification": ""}}),
		finding("CVE-23", "CRITICAL", ["1"]),
		finding("CVE-21", "HIGH", ["2"]), # the same CVE in a second package
	])
	reasons := builtin.deny with input as inp with data.stella.config as {}
	fixable := {msg: sort(ids) |
		some msg in {r.msg | some r in reasons; not r.kev}
		ids := {id | some r in reasons; r.msg == msg; some id in r.findings}
	}
	fixable == {
		"HIGH vulnerabilities with a fix available": ["CVE-20", "CVE-21", "CVE-22"],
		"CRITICAL vulnerabilities with a fix available": ["CVE-23"],
	}
}

test_lower_case_and_moderate_severities_are_normalized if {
	inp := with_findings([finding("CVE-24", "high", ["1"]), finding("CVE-25", "Moderate", [])])
	ids(builtin.deny) == {"CVE-24"} with input as inp with data.stella.config as {}
	some r in builtin.warn with input as inp with data.stella.config as {}
	r.msg == "MEDIUM vulnerabilities with no fix available"
}

# A summary, as Stella sends it, is what the rules read: findings alone
# are not visited when one is there.
test_rules_read_the_summary if {
	inp := {"image": {"name": "x", "layers": []}, "findings": [], "summary": {"findings": 2, "aliases": {}, "groups": [
		{"severity": "HIGH", "fixable": true, "kev": false, "vex": "", "state": "", "ids": ["CVE-30", "CVE-31"]},
		{"severity": "LOW", "fixable": true, "kev": false, "vex": "not_affected", "state": "", "ids": ["CVE-32"]},
	]}}
	ids(builtin.deny) == {"CVE-30", "CVE-31"} with input as inp with data.stella.config as {"failFixedMinSeverity": "LOW"}
}
