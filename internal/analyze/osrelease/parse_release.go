package osrelease

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// firstLine returns the first non-empty line of a short release file.
func firstLine(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	for n := 0; sc.Scan() && n < maxLines; n++ {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			return s, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("line longer than %d bytes or unreadable: %w", maxLine, err)
	}
	return "", fmt.Errorf("empty release file")
}

// ParseAlpineRelease reads etc/alpine-release ("3.14.0").
func ParseAlpineRelease(r io.Reader) (*sbom.Distro, error) {
	v, err := firstLine(r)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(v, " \t") {
		return nil, fmt.Errorf("%.40q is not a version", v)
	}
	return &sbom.Distro{ID: "alpine", Version: v}, nil
}

// redhatIDs maps the product names of etc/redhat-release and
// etc/system-release to os-release IDs, longest prefix first.
var redhatIDs = []struct{ prefix, id string }{
	{"Red Hat Enterprise Linux", "rhel"},
	{"CentOS Stream", "centos"},
	{"CentOS Linux", "centos"},
	{"CentOS", "centos"},
	{"Rocky Linux", "rocky"},
	{"AlmaLinux", "almalinux"},
	{"Oracle Linux", "ol"},
	{"Fedora", "fedora"},
	{"Amazon Linux AMI", "amzn"},
	{"Amazon Linux", "amzn"},
	{"Scientific Linux", "scientific"},
	{"CloudLinux", "cloudlinux"},
	{"EuroLinux", "eurolinux"},
	{"openEuler", "openEuler"},
}

// ParseRedHatRelease reads etc/redhat-release or etc/system-release:
// "<product> release <version> (<codename>)", e.g. "Red Hat Enterprise
// Linux release 8.4 (Ootpa)", "Amazon Linux release 2023 (Amazon Linux)".
func ParseRedHatRelease(r io.Reader) (*sbom.Distro, error) {
	line, err := firstLine(r)
	if err != nil {
		return nil, err
	}
	i := strings.Index(line, " release ")
	if i <= 0 {
		return nil, fmt.Errorf("%.60q is not \"<product> release <version>\"", line)
	}
	product := line[:i]
	rest := strings.Fields(line[i+len(" release "):])
	if len(rest) == 0 {
		return nil, fmt.Errorf("%.60q has no version", line)
	}
	d := &sbom.Distro{Version: rest[0], Name: line}
	for _, m := range redhatIDs {
		if strings.HasPrefix(product, m.prefix) {
			d.ID = m.id
			break
		}
	}
	if d.ID == "" {
		d.ID = strings.ToLower(strings.Fields(product)[0])
	}
	if d.ID != "amzn" {
		d.Codename = parenCodename(line)
	}
	return d, nil
}

// ParseLSBRelease reads etc/lsb-release (DISTRIB_ID, DISTRIB_RELEASE,
// DISTRIB_CODENAME, DISTRIB_DESCRIPTION).
func ParseLSBRelease(r io.Reader) (*sbom.Distro, error) {
	kv, err := readKV(r)
	if err != nil {
		return nil, err
	}
	d := &sbom.Distro{
		ID:       strings.ToLower(kv["DISTRIB_ID"]),
		Version:  kv["DISTRIB_RELEASE"],
		Codename: kv["DISTRIB_CODENAME"],
		Name:     kv["DISTRIB_DESCRIPTION"],
	}
	if d.ID == "" {
		return nil, fmt.Errorf("no DISTRIB_ID field")
	}
	return d, nil
}

// debianCodenames maps Debian major versions to codenames.
var debianCodenames = map[string]string{
	"6": "squeeze", "7": "wheezy", "8": "jessie", "9": "stretch", "10": "buster",
	"11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky", "15": "duke",
}

// DebianCodename returns the codename of a Debian version ("12", "12.4",
// "11.5"), or "".
func DebianCodename(version string) string {
	major, _, _ := strings.Cut(version, ".")
	return debianCodenames[major]
}

// ParseDebianVersion reads etc/debian_version: "12.4" on a release, or
// "bookworm/sid" on testing/unstable (and on Ubuntu). The version is the
// major number, as VERSION_ID has it; the point release goes in Name.
func ParseDebianVersion(r io.Reader) (*sbom.Distro, error) {
	v, err := firstLine(r)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(v, " \t") {
		return nil, fmt.Errorf("%.40q is not a Debian version", v)
	}
	d := &sbom.Distro{ID: "debian", Name: "Debian GNU/Linux " + v}
	if c, _, ok := strings.Cut(v, "/"); ok { // "bookworm/sid"
		d.Codename = c
		return d, nil
	}
	major, _, _ := strings.Cut(v, ".")
	d.Version = major
	d.Codename = DebianCodename(v)
	return d, nil
}
