package acme.images_test

import data.acme.images

test_docker_hub_denied if {
	count(images.deny) == 1 with input as {"image": {"name": "docker.io/library/nginx:1.25"}}
}

test_internal_allowed if {
	count(images.deny) == 0 with input as {"image": {"name": "registry.acme.test/nginx:1.25"}}
}

test_latest_denied if {
	count(images.deny_latest) == 1 with input as {"image": {"name": "registry.acme.test/nginx:latest"}}
}
