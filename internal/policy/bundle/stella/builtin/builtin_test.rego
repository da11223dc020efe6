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

ids(set) := {r.finding | some r in set}

test_high_with_fix_is_denied if {
	ids(builtin.deny) == {"CVE-1"} with input as with_findings([finding("CVE-1", "HIGH", ["3.0.2"])])
		with data.stella.config as {}
}

test_critical_with_fix_is_denied_and_message_cites_it if {
	some r in builtin.deny with input as with_findings([finding("CVE-2", "CRITICAL", ["3.0.2", "3.1.0"])])
		with data.stella.config as {}
	r.finding == "CVE-2"
	r.msg == "CRITICAL CVE-2 in openssl 3.0.1: fixed in 3.0.2, 3.1.0"
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
	r.finding == "CVE-5"
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
