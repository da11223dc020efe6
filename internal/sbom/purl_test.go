package sbom

import (
	"flag"
	"reflect"
	"testing"
)

// update is here so that go test ./... -update runs this package too; it
// has no golden files.
var _ = flag.Bool("update", false, "rewrite golden files (none here)")

func TestFromPURLInvertsPURL(t *testing.T) {
	deb := &Distro{ID: "debian", Version: "12"}
	for _, p := range []Package{
		{Ecosystem: Deb, Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", Distro: deb, SourceName: "glibc"},
		{Ecosystem: APK, Name: "musl", Version: "1.2.4-r2", Arch: "x86_64", Distro: &Distro{ID: "alpine", Version: "3.19.0"}},
		{Ecosystem: RPM, Name: "openssl-libs", Version: "1:3.0.7-24.el9", Arch: "x86_64", Distro: &Distro{ID: "rhel", Version: "9.3"}},
		{Ecosystem: NPM, Name: "@babel/core", Version: "7.23.2"},
		{Ecosystem: NPM, Name: "lodash", Version: "4.17.21"},
		{Ecosystem: Golang, Name: "github.com/BurntSushi/toml", Version: "v1.3.2"},
		{Ecosystem: Maven, Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1"},
		{Ecosystem: PyPI, Name: "PyYAML", Version: "6.0"},
		{Ecosystem: Composer, Name: "laravel/framework", Version: "v7.30.6"},
		{Ecosystem: Cargo, Name: "serde", Version: "1.0.190"},
		{Ecosystem: NuGet, Name: "Newtonsoft.Json", Version: "13.0.3"},
		{Ecosystem: Gem, Name: "rack", Version: "3.0.8"},
	} {
		s := PURL(&p)
		got, err := FromPURL(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got.Ecosystem != p.Ecosystem || !SameName(p.Ecosystem, p.Name, got.Name) || got.Version != p.Version ||
			got.Arch != p.Arch || got.SourceName != p.SourceName || !reflect.DeepEqual(got.Distro, p.Distro) {
			t.Errorf("%s:\n got %+v\nwant %+v", s, got, p)
		}
	}
	if _, err := FromPURL("not-a-purl"); err == nil {
		t.Error("a bad purl parsed")
	}
}

func TestSameName(t *testing.T) {
	for _, tc := range []struct {
		eco, a, b string
		want      bool
	}{
		{PyPI, "PyYAML", "pyyaml", true},
		{PyPI, "zope.interface", "zope-interface", true},
		{PyPI, "typing_extensions", "typing-extensions", true},
		{Golang, "github.com/BurntSushi/toml", "github.com/burntsushi/toml", true},
		{NPM, "lodash", "lodash.merge", false},
	} {
		if got := SameName(tc.eco, tc.a, tc.b); got != tc.want {
			t.Errorf("SameName(%s, %q, %q) = %v", tc.eco, tc.a, tc.b, got)
		}
	}
}
