package osrelease

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/analyze/os/ostest"
	"github.com/stella-scan/stella/internal/sbom"
)

// TestGroundTruth: Pick over the release files of each fixture's final
// file system gives expected/<image>.os.tsv (id, version_id); Debian
// images also get their codename.
func TestGroundTruth(t *testing.T) {
	codenames := map[string]string{"debian-app": "bookworm", "debian-app-v2": "bookworm", "distroless": "bookworm",
		"whiteouts": "bookworm", "zstd": "bookworm", "debian-bullseye-old": "bullseye",
		"rhel-8.4-ubi-micro-rpm-bdb": "ootpa"} // from etc/redhat-release
	for _, image := range []string{
		"debian-app", "debian-app-v2", "distroless", "debian-bullseye-old", "whiteouts", "zstd",
		"alpine-3.14-apk", "alpine-3.10-old", "amazonlinux-2023-rpm-sqlite", "sles-15.3-rpm-ndb",
		"rhel-8.4-ubi-micro-rpm-bdb", "polyglot-lockfiles",
	} {
		t.Run(image, func(t *testing.T) {
			byPath := map[string]*sbom.Distro{}
			for p, r := range ostest.Results(t, Analyzer{}, image) {
				if r.Distro == nil || len(r.Packages) != 0 {
					t.Fatalf("%s: result %+v", p, r)
				}
				byPath[p] = r.Distro
			}
			var got []string
			if d := Pick(byPath); d != nil {
				got = append(got, d.ID+"\t"+d.Version)
				if want := codenames[image]; d.Codename != want {
					t.Errorf("codename %q, want %q", d.Codename, want)
				}
			}
			ostest.Compare(t, image, ostest.Expected(t, image+".os.tsv", "id", "version_id"), got)
		})
	}
}

// TestFiles: release files of distros without a fixture image.
func TestFiles(t *testing.T) {
	for _, tc := range []struct{ file, path, want string }{
		{"ubuntu-22.04.os-release", "etc/os-release", "ubuntu 22.04 jammy Ubuntu 22.04.3 LTS"},
		{"debian-8.os-release", "usr/lib/os-release", "debian 8 jessie Debian GNU/Linux 8 (jessie)"},
		{"debian-testing.os-release", "etc/os-release", "debian  trixie Debian GNU/Linux trixie/sid"},
		{"debian-testing.debian_version", "etc/debian_version", "debian  trixie Debian GNU/Linux trixie/sid"},
		{"centos-7.redhat-release", "etc/redhat-release", "centos 7.9.2009 core CentOS Linux release 7.9.2009 (Core)"},
		{"amzn-2.system-release", "etc/system-release", "amzn 2  Amazon Linux release 2 (Karoo)"},
		{"rocky-9.redhat-release", "etc/redhat-release", "rocky 9.2 blue Rocky Linux release 9.2 (Blue Onyx)"},
		{"ubuntu-20.04.lsb-release", "etc/lsb-release", "ubuntu 20.04 focal Ubuntu 20.04.6 LTS"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !(Analyzer{}).Wants(tc.path, nil) {
				t.Fatalf("Wants(%s) = false", tc.path)
			}
			r, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: tc.path, Content: f})
			if err != nil {
				t.Fatal(err)
			}
			d := r.Distro
			if got := fmt.Sprintf("%s %s %s %s", d.ID, d.Version, d.Codename, d.Name); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPick(t *testing.T) {
	deb := func(v, c string) *sbom.Distro { return &sbom.Distro{ID: "debian", Version: v, Codename: c} }
	for _, tc := range []struct {
		name   string
		byPath map[string]*sbom.Distro
		want   string
	}{
		{"empty", nil, "<nil>"},
		{"etc wins over usr/lib", map[string]*sbom.Distro{
			"usr/lib/os-release": deb("11", "bullseye"), "etc/os-release": deb("12", "bookworm")}, "debian 12 bookworm"},
		{"usr/lib when etc is a symlink", map[string]*sbom.Distro{
			"usr/lib/os-release": deb("12", "bookworm"), "etc/debian_version": deb("12", "bookworm")}, "debian 12 bookworm"},
		{"os-release over debian_version on Ubuntu", map[string]*sbom.Distro{
			"etc/os-release": {ID: "ubuntu", Version: "22.04", Codename: "jammy"}, "etc/debian_version": deb("", "bookworm")}, "ubuntu 22.04 jammy"},
		{"debian_version alone", map[string]*sbom.Distro{"etc/debian_version": deb("11", "bullseye")}, "debian 11 bullseye"},
		{"codename from version", map[string]*sbom.Distro{"etc/os-release": deb("10", "")}, "debian 10 buster"},
		{"testing: codename from debian_version", map[string]*sbom.Distro{
			"etc/os-release": deb("", ""), "etc/debian_version": deb("", "trixie")}, "debian  trixie"},
		{"redhat-release alone", map[string]*sbom.Distro{"etc/redhat-release": {ID: "centos", Version: "7.9.2009"}}, "centos 7.9.2009 "},
		{"unknown path ignored", map[string]*sbom.Distro{"etc/issue": {ID: "x"}}, "<nil>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := "<nil>"
			if d := Pick(tc.byPath); d != nil {
				got = d.ID + " " + d.Version + " " + d.Codename
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHostile(t *testing.T) {
	for _, tc := range []struct{ path, in string }{
		{"etc/os-release", "NAME=x\n"},
		{"etc/os-release", "ID=" + strings.Repeat("a", 10000) + "\n"},
		{"etc/alpine-release", ""},
		{"etc/alpine-release", "not a version\n"},
		{"etc/redhat-release", "garbage\n"},
		{"etc/lsb-release", "X=1\n"},
		{"etc/debian_version", "\n\n"},
	} {
		_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: tc.path, Content: strings.NewReader(tc.in)})
		if err == nil || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s %.20q: error %v does not name the file", tc.path, tc.in, err)
		}
	}
}

func TestWants(t *testing.T) {
	for p, want := range map[string]bool{
		"etc/os-release": true, "usr/lib/os-release": true, "etc/debian_version": true, "etc/lsb-release": true,
		"etc/alpine-release": true, "etc/redhat-release": true, "etc/system-release": true,
		"etc/system-release-cpe": false, "etc/issue": false, "usr/etc/os-release": false, "os-release": false,
	} {
		if got := (Analyzer{}).Wants(p, nil); got != want {
			t.Errorf("Wants(%s) = %v", p, got)
		}
	}
}

func FuzzParseOSRelease(f *testing.F) {
	for _, n := range []string{"ubuntu-22.04.os-release", "debian-8.os-release", "debian-testing.os-release", "ubuntu-20.04.lsb-release"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseOSRelease(strings.NewReader(string(b))); err == nil && d.ID == "" {
			t.Fatal("distro without ID")
		}
		_, _ = ParseLSBRelease(strings.NewReader(string(b)))
	})
}

func FuzzParseRelease(f *testing.F) {
	for _, n := range []string{"centos-7.redhat-release", "amzn-2.system-release", "debian-testing.debian_version"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("3.14.0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func(*strings.Reader) (*sbom.Distro, error){
			func(r *strings.Reader) (*sbom.Distro, error) { return ParseRedHatRelease(r) },
			func(r *strings.Reader) (*sbom.Distro, error) { return ParseAlpineRelease(r) },
			func(r *strings.Reader) (*sbom.Distro, error) { return ParseDebianVersion(r) },
		} {
			if d, err := parse(strings.NewReader(string(b))); err == nil && d.ID == "" {
				t.Fatal("distro without ID")
			}
		}
	})
}
