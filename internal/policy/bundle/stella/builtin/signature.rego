package stella.builtin

import data.stella.lib

# Signed images: an image needs a valid signature for the configured key
# when the caller demands one (input.image.signature.required, set by the
# admission webhook's --require-signature-key) or when the organisation's
# data sets stella.config.requireSignature.

signature_required if input.image.signature.required == true

signature_required if lib.config.requireSignature == true

signature_problem := input.image.signature.error if {
	input.image.signature.error
} else := "no signature was checked (run the admission webhook with --require-signature-key)" if {
	not input.image.signature
} else := "the signature did not verify"

deny contains r if {
	signature_required
	not input.image.signature.verified == true
	r := {
		"msg": sprintf("%s is not signed with the required key: %s", [input.image.name, signature_problem]),
		"signature": true,
	}
}
