# -*- encoding: utf-8 -*-

Gem::Specification.new do |spec|
  spec.name = %q{json_pure}
  spec.version = Gem::Version.new("1.4.6")

  spec.required_rubygems_version = Gem::Requirement.new(">= 0") if spec.respond_to? :required_rubygems_version=
  spec.authors = ["Florian Frank"]
  spec.license = 'Ruby' # dual licensed
  spec.add_runtime_dependency(%q<name>, [">= 0"])
end
