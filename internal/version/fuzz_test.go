package version

import "testing"

// fuzzCompare checks, for any three inputs: no panic; a parsable version
// equals itself; antisymmetry when two parse; transitivity of <= when all
// three parse.
func fuzzCompare(f *testing.F, eco string, seeds ...string) {
	c, err := For(eco)
	if err != nil {
		f.Fatal(err)
	}
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], seeds[(i+2)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, a, b, x string) {
		for _, v := range []string{a, b, x} {
			if n, err := c.Compare(v, v); err == nil && n != 0 {
				t.Fatalf("Compare(%q, %q) = %d", v, v, n)
			}
		}
		ab, errAB := c.Compare(a, b)
		ba, errBA := c.Compare(b, a)
		if (errAB == nil) != (errBA == nil) {
			t.Fatalf("Compare(%q, %q) error %v but reversed %v", a, b, errAB, errBA)
		}
		if errAB != nil {
			return
		}
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q) = %d, reversed %d", a, b, ab, ba)
		}
		bx, err1 := c.Compare(b, x)
		ax, err2 := c.Compare(a, x)
		if err1 == nil && err2 == nil && ab <= 0 && bx <= 0 && ax > 0 {
			t.Fatalf("%q <= %q <= %q but Compare(%q, %q) = %d", a, b, x, a, x, ax)
		}
	})
}

func FuzzCompare_deb(f *testing.F) {
	fuzzCompare(f, "deb", "1:1.2.13.dfsg-1", "1.0~rc1", "1.0", "3.0.11-1~deb12u2", "2.36-9+deb12u4", "1.0~~a")
}

func FuzzCompare_rpm(f *testing.F) {
	fuzzCompare(f, "rpm", "1:3.0.7-25.el9", "1.0^git1", "1.0~rc1", "0:102.11.0-2.el8_7", "1.0.1", "2.28-225.el9_3.1")
}

func FuzzCompare_apk(f *testing.F) {
	fuzzCompare(f, "apk", "1.2.3-r4", "1.2.3_rc1", "1.2.3_p1", "1.0a", "1.2.3~abc-r0", "1.01")
}

func FuzzCompare_npm(f *testing.F) {
	fuzzCompare(f, "npm", "4.17.21", "1.0.0-alpha.beta", "5.0.0-beta.3", "v1.2.3", "1.0", "1.0.0-x")
}

func FuzzCompare_golang(f *testing.F) {
	fuzzCompare(f, "golang", "v3.0.0-20220521103104-8f96da9f5d5e", "v3.0.0", "go1.21.0", "1.21.0-0", "go1.21rc2", "v2.0.0+incompatible")
}

func FuzzCompare_pypi(f *testing.F) {
	fuzzCompare(f, "pypi", "1.0.post1", "1.0rc1", "2023.7.22", "1!1.0", "1.2+abc123", "1.0.dev456")
}

func FuzzCompare_maven(f *testing.F) {
	fuzzCompare(f, "maven", "2.12.6.1", "1.0-SNAPSHOT", "1.0-alpha-1", "1.0.Final", "2.1-c", "11.m11")
}

func FuzzCompare_gem(f *testing.F) {
	fuzzCompare(f, "gem", "1.0.0.pre", "1.0.0-rc1", "1.0.a10", "5.x", "0.beta.1", "7.0.8.1")
}

func FuzzCompare_cargo(f *testing.F) {
	fuzzCompare(f, "cargo", "1.0.0-alpha.1", "0.9.10", "1.0.0+build", "2.0.0", "1.0.0-beta.11", "0.0.1")
}

func FuzzCompare_nuget(f *testing.F) {
	fuzzCompare(f, "nuget", "1.0.0-beta", "1.0.0.1", "1.0", "1.0.0-BETA.2", "6.0.0-preview.1+meta", "01.0")
}

func FuzzCompare_composer(f *testing.F) {
	fuzzCompare(f, "composer", "v2.8.32", "1.0.0-beta2", "1.x-dev", "2010-01-02", "1.0.0RC1dev", "1.0.0-p1")
}

// FuzzInRange: no panic for any range of two events and any version.
func FuzzInRange(f *testing.F) {
	f.Add("npm", "4.17.20", "0", "4.17.21")
	f.Add("golang", "go1.21.0", "1.21.0-0", "1.21.0-rc.4")
	f.Add("maven", "2.12.6", "0", "2.12.6.1")
	f.Fuzz(func(t *testing.T, eco, v, intro, fixed string) {
		c, err := For(eco)
		if err != nil {
			return
		}
		affected, fix, err := InRange(c, v, []Event{{Introduced: intro}, {Fixed: fixed}})
		if err == nil && affected && fix != "" && fix != fixed {
			t.Fatalf("fixed = %q, not an event", fix)
		}
	})
}
