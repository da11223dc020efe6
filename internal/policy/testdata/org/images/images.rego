# Organisation rules about where images come from.
package acme.images

# deny in any package fails the scan, as in conftest.
deny contains msg if {
	startswith(input.image.name, "docker.io/")
	msg := sprintf("%s: pull from the internal mirror, not Docker Hub", [input.image.name])
}

# A prefixed rule counts too.
deny_latest contains msg if {
	endswith(input.image.name, ":latest")
	msg := "the :latest tag is not allowed; pin a version or a digest"
}
