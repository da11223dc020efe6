# The cluster's rules for the admission tests, judged on real scans of the
# fixture images.
package cluster.base

deny contains msg if {
	startswith(input.sbom.distro, "alpine:3.14")
	msg := sprintf("%s is end of life: rebuild on a supported base", [input.sbom.distro])
}

warn contains msg if {
	some p in input.sbom.packages
	p.name == "curl"
	msg := sprintf("curl %s is installed: drop it from runtime images", [p.version])
}
