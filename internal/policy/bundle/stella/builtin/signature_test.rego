package stella.builtin_test

import data.stella.builtin

base := {"name": "registry.test/app:1", "layers": []}

test_signature_not_required_by_default if {
	count(builtin.deny) == 0 with input as {"image": base, "findings": []}
}

test_required_and_verified_passes if {
	count(builtin.deny) == 0 with input as {"image": object.union(base, {"signature": {"required": true, "verified": true}}), "findings": []}
}

test_required_and_unsigned_denied if {
	some r in builtin.deny with input as {"image": object.union(base, {"signature": {"required": true, "verified": false, "error": "no signature verifies"}}), "findings": []}
	r.signature
	contains(r.msg, "no signature verifies")
}

test_org_config_requires_unchecked_image if {
	some r in builtin.deny with input as {"image": base, "findings": []}
		with data.stella.config as {"requireSignature": true}
	contains(r.msg, "no signature was checked")
}
