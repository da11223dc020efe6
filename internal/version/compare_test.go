package version

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// pair is one comparison: want is the sign of Compare(a, b). Every pair is
// also checked the other way round.
type pair struct {
	a, b string
	want int
}

func checkPairs(t *testing.T, eco string, pairs []pair) {
	t.Helper()
	c, err := For(eco)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		got, err := c.Compare(p.a, p.b)
		if err != nil {
			t.Errorf("%s: Compare(%q, %q): %v", eco, p.a, p.b, err)
			continue
		}
		if got != p.want {
			t.Errorf("%s: Compare(%q, %q) = %d, want %d", eco, p.a, p.b, got, p.want)
		}
		if back, _ := c.Compare(p.b, p.a); back != -p.want {
			t.Errorf("%s: Compare(%q, %q) = %d, want %d", eco, p.b, p.a, back, -p.want)
		}
	}
}

// checkOrder checks that versions are strictly increasing, every pair.
func checkOrder(t *testing.T, eco string, versions []string) {
	t.Helper()
	var pairs []pair
	for i := range versions {
		for j := range versions {
			pairs = append(pairs, pair{versions[i], versions[j], sign(i - j)})
		}
	}
	checkPairs(t, eco, pairs)
}

// checkInvalid checks that each version is refused, naming it.
func checkInvalid(t *testing.T, eco string, versions []string) {
	t.Helper()
	c, err := For(eco)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		for _, args := range [][2]string{{v, "1.0.0"}, {"1.0.0", v}} {
			_, err := c.Compare(args[0], args[1])
			if err == nil {
				t.Errorf("%s: Compare(%q, %q) accepted %q", eco, args[0], args[1], v)
				continue
			}
			if !errors.Is(err, ErrInvalidVersion) || !strings.Contains(err.Error(), strconv.Quote(v)) || !strings.Contains(err.Error(), eco) {
				t.Errorf("%s: error %q does not wrap ErrInvalidVersion with the ecosystem and %q", eco, err, v)
			}
		}
	}
}

func TestDeb(t *testing.T) {
	checkPairs(t, "deb", []pair{
		{"1:1.2.13.dfsg-1", "1.2.13.dfsg-1", 1},            // epoch wins
		{"1:1.2.13.dfsg-1", "2.0-1", 1},                    // even over a higher upstream
		{"1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1", -1}, // stable update
		{"0:1.0-1", "1.0-1", 0},                            // epoch 0 is no epoch
		{"1.0~rc1", "1.0", -1},                             // tilde before the release
		{"1.0~rc1-1", "1.0-1", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1}, // backport below the original
		{"2.36-9+deb12u3", "2.36-9+deb12u4", -1},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u10", -1}, // numbers numerically
		{"1.0-1", "1.0+dfsg-1", -1},                     // "+" after the end
		{"1.2.3-1", "1.2.3-01", 0},
		{"1.10", "1.9", 1},
		{"2.9.14+dfsg-1.3~deb12u1", "2.9.14+dfsg-1.3", -1},
		{"252.22-1~deb12u1", "252.19-1~deb12u1", 1},
	})
	// deb-version(7): "~~" < "~~a" < "~" < "" < "a"
	checkOrder(t, "deb", []string{"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0.1"})
	checkInvalid(t, "deb", []string{"", "abc", "a:1.0", "1.0-1:2", "1.0 beta"})
}

func TestRPM(t *testing.T) {
	checkPairs(t, "rpm", []pair{
		{"1:3.0.7-25.el9", "3.0.7-25.el9", 1}, // epoch
		{"1:3.0.7-25.el9", "1:3.0.7-24.el9_3", 1},
		{"1:3.0.7-25.el9", "1:3.0.7-25.el9_3", -1}, // more segments wins
		{"0:102.11.0-2.el8_7", "102.11.0-2.el8_7", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0^git1", "1.0", 1},
		{"1.0^git1", "1.0.1", -1},
		{"1.0^git1", "1.0^git2", -1},
		{"1.10", "1.9", 1},
		{"1.01", "1.1", 0},
		{"1.0a", "1.0.1", -1}, // letters below numbers
		{"2.28-225.el9", "2.28-225.el9_3.1", -1},
		{"0:3.3.1-2.module+el9.4.0+20787+4c237fd3", "3.3.0-1.el9", 1},
		{"1:11.0.13.0.8-1.el8_4", "1:11.0.12.0.7-0.el8_4", 1},
	})
	checkOrder(t, "rpm", []string{"1.0~rc1", "1.0", "1.0^", "1.0^git1", "1.0.1", "1:0.1"})
	checkInvalid(t, "rpm", []string{"", "x:1.0", "1:", " 1.0", "1.0 beta"})
}

func TestAPK(t *testing.T) {
	checkPairs(t, "apk", []pair{
		{"1.2.3-r4", "1.2.3-r10", -1},
		{"1.2.3-r4", "1.2.3", 1},
		{"1.2.3_rc1", "1.2.3", -1},
		{"1.2.3_p1", "1.2.3", 1},
		{"1.2.3_p1", "1.2.3-r9", 1}, // a suffix is part of the version, -r the package revision
		{"1.36.1-r15", "1.36.1-r2", 1},
		{"3.1.4-r5", "3.1.4-r6", -1},
		{"1.2.3_rc1", "1.2.3_rc2", -1},
		{"2.4.58-r0", "2.4.58", 1}, // apk-tools: any revision, even r0, is more
		{"1.0_rc1", "1.0", -1},     // leading-zero component (the old port got this wrong)
		{"1.01", "1.1", -1},        // leading zero: compared as text
		{"1.2.3~abc123-r0", "1.2.3-r0", 1},
		{"6.4_p20231125-r0", "6.4_p20230722-r0", 1},
	})
	checkOrder(t, "apk", []string{
		"1.0_alpha1", "1.0_beta1", "1.0_pre1", "1.0_rc1", "1.0", "1.0-r1",
		"1.0_cvs1", "1.0_svn1", "1.0_git1", "1.0_hg1", "1.0_p1", "1.0a", "1.0.1",
	})
	checkInvalid(t, "apk", []string{"", "abc", "1.0-", "1.0_foo", "1.0 1", "1.0-r", "1.0a1", "1.0~", "v1.0"})
}

func TestNPM(t *testing.T) {
	checkPairs(t, "npm", []pair{
		{"4.17.20", "4.17.21", -1},
		{"5.0.0-alpha.1", "5.0.0-beta.3", -1},
		{"5.0.0-beta.3", "4.21.0", 1},
		{"1.0.0-x", "1.0.0", -1}, // "x" is an identifier, not a wildcard
		{"v1.2.3", "1.2.3", 0},
		{"=1.2.3", "1.2.3", 0},
		{"1.2.3+build.5", "1.2.3", 0},
		{"1.2.3-rc.10", "1.2.3-rc.9", 1},
		{"1.0", "1.0.0", 0}, // as GHSA-r683-j2x4-v87g writes it
		{"0.21.1", "0.8.1", 1},
	})
	// semver.org section 11.
	checkOrder(t, "npm", []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0",
	})
	checkInvalid(t, "npm", []string{"", "latest", "1.2.3-", "1.2.3.4", "^1.2.3"})
}

func TestCargo(t *testing.T) {
	checkPairs(t, "cargo", []pair{
		{"0.9.10", "0.10.0", -1},
		{"1.0.0-alpha.1", "1.0.0", -1},
		{"1.0.0+build", "1.0.0", 0},
	})
	checkOrder(t, "crates.io", []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0"})
	checkInvalid(t, "cargo", []string{"", "1.0", "v1.0.0", "01.0.0", "1.0.0-01"})
}

func TestGo(t *testing.T) {
	checkPairs(t, "golang", []pair{
		{"v3.0.0-20220521103104-8f96da9f5d5e", "v3.0.0", -1}, // pseudo-version before its release
		{"3.0.0-20220521103104-8f96da9f5d5e", "v3.0.0", -1},  // OSV writes no "v"
		{"v3.0.0-20210107192922-496545a6307b", "3.0.0-20220521103104-8f96da9f5d5e", -1},
		{"v1.9.0", "1.3.1-0.20190301021747-ccb9e902956d", 1},
		{"v1.3.0", "1.3.1-0.20190301021747-ccb9e902956d", -1},
		{"v1.9.0", "1.9.1", -1},
		{"v0.0.0-20210101000000-abcdefabcdef", "v0.0.1", -1},
		{"v2.0.0+incompatible", "v2.0.0", 0},
		{"v0.10.0", "v0.9.0", 1},
		// Go toolchains: binaries say go1.21.0, OSV says 1.21.0-0 and 1.21.0-rc.4.
		{"go1.21.0", "1.21.0-0", 1},
		{"go1.21.0", "1.21.0-rc.4", 1},
		{"go1.21.0", "1.21.1", -1},
		{"go1.21rc2", "v1.21.0-rc.2", 0},
		{"go1.21rc2", "1.21.0-rc.4", -1},
		{"go1.20", "1.20.0", 0}, // before Go 1.21 "go1.20" was the .0 release
		{"go1.9beta2", "1.9.0-beta.2", 0},
		{"go1", "1.0.0", 0},
		{"go1.22.1 X:boringcrypto", "1.22.1", 0},
	})
	checkInvalid(t, "golang", []string{"", "(devel)", "latest", "1.2.3.4", "devel go1.23-abc", "go1.21.x"})
}

func TestPyPI(t *testing.T) {
	checkPairs(t, "pypi", []pair{
		{"1.0.post1", "1.0", 1},
		{"1.0rc1", "1.0", -1},
		{"1.0rc1", "1.0b2", 1},
		{"2023.7.22", "2022.12.7", 1},
		{"2023.7.22", "2023.07.22", 0},
		{"1.26.17", "2.0.0", -1},
		{"1.0", "1.0.0", 0},
		{"1.0-1", "1.0.post1", 0},
		{"1.0RC1", "1.0rc1", 0},
		{"1.0c1", "1.0rc1", 0},
		{"v1.0", "1.0", 0},
		{"1!0.1", "2.0", 1},
		{"1.0+local.1", "1.0", 1},
		{"1.0.dev1", "1.0a1", -1},
		{"5.4", "5.3.1", 1},
	})
	// pypa/packaging tests/test_version.py, VERSIONS (sorted).
	checkOrder(t, "pypi", []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346",
		"1.0c1.dev456", "1.0c1", "1.0rc2", "1.0c3", "1.0",
		"1.0.post456.dev34", "1.0.post456", "1.1.dev1",
		"1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def",
		"1.2+1234.abc", "1.2+123456", "1.2.r32+123456", "1.2.rev33+123456",
		"1!1.0.dev456", "1!1.0a1", "1!1.0b2", "1!1.0", "1!1.2.rev33+123456",
	})
	checkInvalid(t, "pypi", []string{"", "not a version", "1.0-beta-x", "1.0+", "==1.0"})
}

func TestMaven(t *testing.T) {
	checkPairs(t, "maven", []pair{
		{"2.12.6.1", "2.12.6", 1}, // four-part (jackson-databind)
		{"2.12.6.1", "2.13.0", -1},
		{"2.13.2.1", "2.13.2", 1},
		{"2.13.2.1", "2.13.2.2", -1},
		{"1.0-SNAPSHOT", "1.0", -1},
		{"1.0-alpha", "1.0-beta", -1},
		{"1.0-alpha-1", "1.0", -1},
		{"1.0", "1.0.0", 0},
		{"1.0.Final", "1.0", 0},
		{"1.0.RELEASE", "1.0", 0},
		{"1.0-ga", "1.0", 0},
		{"1.0-RC1", "1.0-cr1", 0},
		{"2.15.0-rc1", "2.15.0", -1},
		{"2.15.0-rc2", "2.15.0-rc1", 1},
		{"1.10.0", "1.9", 1},
		{"2.4", "2.3.1", 1},
		{"1.0-sp1", "1.0", 1},
		{"1.0-M1", "1.0-alpha1", 1}, // milestone after beta
		{"1-final0", "1-0", 0},      // both normalise to 1
		{"1-c0", "1-final0", 1},     // so that the order stays transitive
		{"1-c0", "1-0", 1},
	})
	// Maven's ComparableVersionTest, VERSIONS_QUALIFIER.
	checkOrder(t, "maven", []string{
		"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11", "1-rc", "1-cr2",
		"1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc", "1-def", "1-pom-1", "1-1-snapshot",
		"1-1", "1-2", "1-123",
	})
	// Maven's ComparableVersionTest, VERSIONS_NUMBER.
	checkOrder(t, "maven", []string{
		// "2.0.a" left out: the library follows the written specification,
		// where Maven's code puts it before "2-1" (see the library's README).
		"2.0", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2",
		"2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
	})
	checkInvalid(t, "maven", []string{"", "1.0 beta", "1.0\t"})
}

func TestGem(t *testing.T) {
	checkPairs(t, "gem", []pair{
		{"1.0.0.pre", "1.0.0", -1},
		{"1.0.0.pre", "0.9.9", 1},
		{"1.0.0-rc1", "1.0.0", -1}, // "-" reads as ".pre."
		{"1.0.0-rc1", "1.0.0.pre.rc1", 0},
		{"1.0.b", "1.0.beta", -1}, // runs of letters, not single letters
		{"1.0.a10", "1.0.ab", -1},
		{"1.0", "1.0.0", 0},
		{"1.0", "1.0.a", 1},
		{"1.8.2", "0.0.0", 1},
		{"1.8.2.b", "1.8.2.a", 1},
		{"1.8.2.a10", "1.8.2.a9", 1},
		{"0.beta.1", "0.0.beta.1", 0},
		{"0.0.beta", "0.0.beta.1", -1},
		{"0.0.beta", "0.beta.1", -1},
		{"5.a", "5.0.0.rc2", -1},
		{"5.x", "5.0.0.rc2", 1},
		{"7.0.8.1", "7.0.8", 1},
		{"6.1.7.7", "7.0.0", -1},
		{" 1.2.3 ", "1.2.3", 0},
	})
	checkOrder(t, "RubyGems", []string{"1.0.0.a", "1.0.0.alpha", "1.0.0.b", "1.0.0.beta", "1.0.0.beta.2", "1.0.0.pre", "1.0.0.rc1", "1.0.0", "1.0.0.1", "1.0.1"})
	checkInvalid(t, "gem", []string{"", "1.0 beta", "a1", "1..0", "1.0-"})
}

func TestNuGet(t *testing.T) {
	checkPairs(t, "nuget", []pair{
		{"1.0.0-beta", "1.0.0", -1},
		{"1.0.0.1", "1.0.0", 1}, // four-part
		{"1.0.0.0", "1.0.0", 0},
		{"1.0", "1.0.0", 0},
		{"1", "1.0.0.0", 0},
		{"01.0", "1.0", 0},
		{"1.0.0-BETA", "1.0.0-beta", 0}, // labels ignore case
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-beta2", "1.0.0-beta11", 1}, // legacy labels compare as text
		{"1.0.0-1", "1.0.0-alpha", -1},     // numbers below words
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0+meta", "1.0.0", 0},
		{"1.0.0-rc.1+meta", "1.0.0-rc.1", 0},
		{"6.0.0-preview.1", "6.0.0-rc.1", -1},
		{"4.7.2", "4.7.1", 1},
		{"13.0.1", "9.0.1", 1},
		{"4.0.0.0", "4.0.0.1", -1},
	})
	checkOrder(t, "NuGet", []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0.1", "1.0.1", "1.1"})
	checkInvalid(t, "nuget", []string{"", "1.0.0.0.0", "a.b", "1.0-", "1.0-beta..1", "1.0.0+", "v1.0.0", "1.2147483648"})
}

func TestComposer(t *testing.T) {
	checkPairs(t, "composer", []pair{
		{"v2.8.32", "2.8.32", 0},
		{"v2.8.31", "2.8.32", -1},
		{"v2.8.32", "v2.8.4", 1},
		{"1.0.0-beta2", "1.0.0", -1},
		{"1.0.0-RC1", "1.0.0-beta", 1},
		{"1.0.0-dev", "1.0.0-alpha", -1},
		{"1.0.0-p1", "1.0.0", 1},
		{"1.0.0-patch1", "1.0.0-pl1", 0},
		{"1.0.0-b2", "1.0.0-beta2", 0},
		{"1.25.0", "1.25.0-beta", 1},
		{"10.4.13-beta.2", "10.4.13beta2", 0},
		{"1.0.0+foo", "1.0.0", 0},
		{"1.0.0@beta", "1.0.0", 0},
		{"1.0.0-stable", "1.0.0", 0},
		{"1.x-dev", "1.5.0", 1},
		{"1.x-dev", "2.0.0", -1},
		{"2010-01-02", "2010.01.03", -1},
		{"2010-01-02", "2010.01.02", -1}, // as in Composer: 2010.01.02 vs 2010.01.02.0
		{"1.0.0RC1dev", "1.0.0RC1", -1},
		{"1.0", "1.0.0.0", 0},
		{"1.2.3.4", "1.2.3", 1},
		{"5.4.10", "5.4.9", 1},
	})
	checkOrder(t, "Packagist", []string{"1.0.0-dev", "1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-beta1", "1.0.0-RC1", "1.0.0-RC2", "1.0.0", "1.0.0-patch1", "1.0.1", "v1.1.0"})
	checkInvalid(t, "composer", []string{"", "dev-master", "master", "abc", "1.0.0-foo", "1.0.0.0.0"})
}

// TestNormalizeComposer uses cases of composer/semver's VersionParserTest.
func TestNormalizeComposer(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.0":              "1.0.0.0",
		"1.2.3.4":            "1.2.3.4",
		"1.0.0RC1dev":        "1.0.0.0-RC1-dev",
		"1.0.0-rC15-dev":     "1.0.0.0-RC15-dev",
		"1.0.0.RC.15-dev":    "1.0.0.0-RC15-dev",
		"1.0.0-rc1":          "1.0.0.0-RC1",
		"1.0.0.pl3-dev":      "1.0.0.0-patch3-dev",
		"1.0-dev":            "1.0.0.0-dev",
		"0":                  "0.0.0.0",
		"10.4.13-beta":       "10.4.13.0-beta",
		"10.4.13beta2":       "10.4.13.0-beta2",
		"10.4.13-beta.2":     "10.4.13.0-beta2",
		"10.4.13-b":          "10.4.13.0-beta",
		"10.4.13-b5":         "10.4.13.0-beta5",
		"v1.0.0":             "1.0.0.0",
		"2010.01":            "2010.01.0.0",
		"2010.01.02":         "2010.01.02.0",
		"v20100102":          "20100102",
		"2010-01-02":         "2010.01.02",
		"2010-01-02.5":       "2010.01.02.5",
		"20100102-203040":    "20100102.203040",
		"20100102-203040-p1": "20100102.203040-patch1",
		"1.x-dev":            "1.9999999.9999999.9999999-dev",
		"1.0.0+foo":          "1.0.0.0",
		"1.0.0+foo as 2.0":   "1.0.0.0",
		"00.01.03.04":        "00.01.03.04",
		"0700":               "0700.0.0.0",
		"041.x-dev":          "041.9999999.9999999.9999999-dev",
		" 1.0.0":             "1.0.0.0",
		"1.0.0 ":             "1.0.0.0",
	} {
		got, err := normalizeComposer(in)
		if err != nil || got != want {
			t.Errorf("normalizeComposer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestForAndEcosystem(t *testing.T) {
	for in, want := range map[string]string{
		"npm": "npm", "PyPI": "pypi", "Go": "golang", "Maven": "maven", "RubyGems": "gem",
		"crates.io": "cargo", "NuGet": "nuget", "Packagist": "composer", "Debian": "deb",
		"Debian:12": "deb", "Ubuntu:22.04:LTS": "deb", "Ubuntu:Pro:18.04:LTS": "deb",
		"Alpine": "apk", "Alpine:v3.19": "apk", "Rocky Linux": "rpm", "Rocky Linux:8": "rpm",
		"AlmaLinux:9": "rpm", "Red Hat:enterprise_linux:9::appstream": "rpm",
		"Maven:https://maven.google.com": "maven", "golang": "golang", "deb": "deb",
		"purl-type:swift": "", "Hex": "", "": "",
	} {
		if got := Ecosystem(in); got != want {
			t.Errorf("Ecosystem(%q) = %q, want %q", in, got, want)
		}
		_, err := For(in)
		if (err == nil) != (want != "") {
			t.Errorf("For(%q) error = %v", in, err)
		}
		if err != nil && !errors.Is(err, ErrUnknownEcosystem) {
			t.Errorf("For(%q) error %v does not wrap ErrUnknownEcosystem", in, err)
		}
	}
	for _, eco := range []string{"deb", "rpm", "apk", "npm", "golang", "pypi", "maven", "gem", "cargo", "nuget", "composer"} {
		if _, err := For(eco); err != nil {
			t.Errorf("For(%q): %v", eco, err)
		}
	}
}
