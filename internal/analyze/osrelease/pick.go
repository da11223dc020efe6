package osrelease

import "github.com/stella-scan/stella/internal/sbom"

// Precedence lists the release files from most to least authoritative.
// etc/os-release is usually a symlink to ../usr/lib/os-release, which the
// layer walk does not follow: both are read, and an image that overrides
// etc/os-release with a regular file wins over the vendor's copy.
var Precedence = []string{
	"etc/os-release",
	"usr/lib/os-release",
	"etc/lsb-release",
	"etc/alpine-release",
	"etc/redhat-release",
	"etc/system-release",
	"etc/debian_version",
}

// Pick chooses the image's distro from the Distro each release file gave
// (keyed by path), following Precedence. The chosen record is completed
// from the others of the same ID (a missing VERSION_ID or codename), and a
// Debian distro always gets its codename — from its version, or from
// etc/debian_version on testing — since Debian advisories are keyed by
// codename. It returns nil when byPath holds nothing usable; the result is
// a copy.
func Pick(byPath map[string]*sbom.Distro) *sbom.Distro {
	var best *sbom.Distro
	for _, p := range Precedence {
		if d := byPath[p]; d != nil && d.ID != "" {
			best = d
			break
		}
	}
	if best == nil {
		return nil
	}
	out := *best
	for _, p := range Precedence {
		d := byPath[p]
		if d == nil || d.ID != out.ID {
			continue
		}
		if out.Version == "" {
			out.Version = d.Version
		}
		if out.Codename == "" {
			out.Codename = d.Codename
		}
		if out.Name == "" {
			out.Name = d.Name
		}
	}
	if out.ID == "debian" && out.Codename == "" {
		out.Codename = DebianCodename(out.Version)
	}
	return &out
}
