package stella.decision_test

import data.stella.decision

# The collected rules are replaced by fixed sets, so these tests do not
# depend on which organisation packages are loaded beside them.
deny_cve1 := {"stella.builtin.deny": [{"msg": "HIGH CVE-1", "finding": "CVE-1"}]}

warn_plain := {"org.acme.warn": ["use a digest"]}

inp := {"image": {"name": "registry.example.com/team/app:1.2", "digest": "sha256:abc", "layers": []}, "sbom": {"packages": []}, "findings": [{"id": "CVE-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "fixed": ["2"]}], "provenance": {}}

# 2026-01-01T00:00:00Z
now := 1767225600000000000

test_pass_without_reasons if {
	decision.result.verdict == "pass" with data.stella.collected.deny as {}
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as []
	decision.result.allow with data.stella.collected.deny as {}
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as []
}

test_deny_fails if {
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as warn_plain
		with input as inp
		with data.stella.waivers as []
	r.verdict == "fail"
	r.allow == false
	count(r.deny) == 1
	count(r.warn) == 1
}

test_warn_only_warns_and_allows if {
	r := decision.result with data.stella.collected.deny as {}
		with data.stella.collected.warn as warn_plain
		with input as inp
		with data.stella.waivers as []
	r.verdict == "warn"
	r.allow == true
}

test_active_waiver_sets_the_reason_aside if {
	w := {"id": "CVE-1", "image": "registry.example.com/team/*", "until": "2026-06-30", "reason": "no fix deployed yet"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "pass"
	r.deny == {}
	some x in r.waived
	x.waiver == w
	x.level == "deny"
}

test_expired_waiver_stops_working if {
	w := {"id": "CVE-1", "image": "registry.example.com/team/*", "until": "2025-12-31"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "fail"
	count(r.waived) == 0
	r.expiredWaivers == [w]
}

test_waiver_lasts_to_the_end_of_its_day if {
	w := {"id": "CVE-1", "until": "2025-12-31"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now - 1
	r.verdict == "pass"
}

test_waiver_by_alias if {
	w := {"id": "GHSA-aaaa-bbbb-cccc", "image": "**", "until": "2026-06-30"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "pass"
}

test_waiver_for_another_image_does_nothing if {
	w := {"id": "CVE-1", "image": "registry.example.com/other/*", "until": "2026-06-30"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "fail"
	r.expiredWaivers == []
}

test_single_star_stays_in_one_segment if {
	w := {"id": "CVE-1", "image": "registry.example.com/*", "until": "2026-06-30"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "fail"
}

test_waiver_pinned_to_a_digest if {
	w := {"id": "CVE-1", "image": "sha256:abc", "until": "2026-06-30T12:00:00Z"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "pass"
}

test_waiver_does_not_cover_uncited_reasons if {
	w := {"id": "CVE-1", "until": "2026-06-30"}
	plain_deny := {"org.acme.deny": ["CVE-1 is forbidden"]}
	r := decision.result with data.stella.collected.deny as plain_deny
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "fail"
}

test_invalid_waiver_warns if {
	w := {"id": "CVE-1", "until": "next year"}
	r := decision.result with data.stella.collected.deny as {}
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "warn"
	count(r.warn["stella.lib.waivers"]) == 1
}

# Nanoseconds end in 2262; a date waiver still works after that.
test_waiver_far_in_the_future if {
	w := {"id": "CVE-1", "until": "2999-12-31"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "pass"
}

test_impossible_date_is_invalid if {
	w := {"id": "CVE-1", "until": "2026-13-01"}
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "fail"
	count(r.warn["stella.lib.waivers"]) == 1
}

deny_many := {"stella.builtin.deny": [{"msg": "HIGH vulnerabilities with a fix available", "findings": ["CVE-1", "CVE-2"]}]}

test_waiver_takes_its_finding_out_of_a_reason_citing_many if {
	w := {"id": "CVE-1", "until": "2026-06-30"}
	r := decision.result with data.stella.collected.deny as deny_many
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "fail"
	r.deny == {"stella.builtin.deny": [{"msg": "HIGH vulnerabilities with a fix available", "findings": ["CVE-2"]}]}
	r.waived == {{"level": "deny", "key": "stella.builtin.deny", "waiver": w, "value": {"msg": "HIGH vulnerabilities with a fix available", "findings": ["CVE-1"]}}}
}

test_reason_citing_only_waived_findings_is_set_aside if {
	ws := [{"id": "GHSA-aaaa-bbbb-cccc", "until": "2026-06-30"}, {"id": "CVE-2", "until": "2026-06-30"}]
	r := decision.result with data.stella.collected.deny as deny_many
		with data.stella.collected.warn as {}
		with input as inp
		with data.stella.waivers as ws
		with time.now_ns as now
	r.verdict == "pass"
	r.deny == {}
	{[x.value.findings, x.waiver.id] | some x in r.waived} == {[["CVE-1"], "GHSA-aaaa-bbbb-cccc"], [["CVE-2"], "CVE-2"]}
}

# With a summary (as Stella sends it), an alias waiver is found through
# summary.aliases, not by visiting the findings.
test_waiver_by_alias_through_the_summary if {
	w := {"id": "GHSA-zzzz-yyyy-xxxx", "until": "2026-06-30"}
	with_summary := object.union(inp, {"findings": [], "summary": {"findings": 1, "groups": [], "aliases": {"GHSA-zzzz-yyyy-xxxx": ["CVE-1"]}}})
	r := decision.result with data.stella.collected.deny as deny_cve1
		with data.stella.collected.warn as {}
		with input as with_summary
		with data.stella.waivers as [w]
		with time.now_ns as now
	r.verdict == "pass"
}
