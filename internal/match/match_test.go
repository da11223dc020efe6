package match_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/sbom"
)

func TestMain(m *testing.M) { matchtest.Main(m) }

var (
	bullseye   = &sbom.Distro{ID: "debian", Version: "11", Codename: "bullseye"}
	alpine310  = &sbom.Distro{ID: "alpine", Version: "3.10.0"}
	alpine314  = &sbom.Distro{ID: "alpine", Version: "3.14.0"}
	bookworm   = &sbom.Distro{ID: "debian", Version: "12", Codename: "bookworm"}
	debian11NC = &sbom.Distro{ID: "debian", Version: "11"} // no VERSION_CODENAME
)

func deb(name, ver, src, srcVer string, d *sbom.Distro) sbom.Package {
	return sbom.Package{ID: "deb:" + name + "@" + d.Version, Name: name, Version: ver, Ecosystem: sbom.Deb,
		SourceName: src, SourceVersion: srcVer, Distro: d, Layer: "sha256:l1", LayerIndex: 1, Paths: []string{"var/lib/dpkg/status"}}
}

func apk(name, ver, origin string, d *sbom.Distro) sbom.Package {
	return sbom.Package{ID: "apk:" + name + "@" + d.Version, Name: name, Version: ver, Ecosystem: sbom.APK,
		SourceName: origin, Distro: d, LayerIndex: 1, Paths: []string{"lib/apk/db/installed"}}
}

func lang(eco, name, ver, path string) sbom.Package {
	return sbom.Package{ID: eco + ":" + name + "@" + ver + "#" + path, Name: name, Version: ver, Ecosystem: eco,
		Layer: "sha256:l3", LayerIndex: 3, Paths: []string{path}}
}

// expect is one package's expected findings: want must all be present (by
// id, alias or record id) with the given fixed version ("" = do not check);
// not must all be absent.
type expect struct {
	pkg  sbom.Package
	want map[string]string
	not  []string
}

func run(t *testing.T, cases []expect) map[string][]match.Finding {
	t.Helper()
	db := matchtest.Open(t)
	e := match.New(db, nil)
	var pkgs []sbom.Package
	for _, c := range cases {
		pkgs = append(pkgs, c.pkg)
	}
	fs, _, err := e.Match(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]match.Finding{}
	for _, f := range fs {
		by[f.Package.ID] = append(by[f.Package.ID], f)
	}
	for _, c := range cases {
		got := by[c.pkg.ID]
		for id, fixed := range c.want {
			f := find(got, id)
			if f == nil {
				t.Errorf("%s %s: missing finding %s; got %v", c.pkg.Name, c.pkg.Version, id, ids(got))
				continue
			}
			if fixed != "" && !slices.Contains(f.FixedVersions, fixed) {
				t.Errorf("%s %s: %s fixed versions %v, want %s", c.pkg.Name, c.pkg.Version, id, f.FixedVersions, fixed)
			}
			checkEvidence(t, f)
		}
		for _, id := range c.not {
			if f := find(got, id); f != nil {
				t.Errorf("%s %s: unexpected finding %s (%+v)", c.pkg.Name, c.pkg.Version, id, f.Evidence)
			}
		}
		if c.want == nil && len(c.not) == 0 && len(got) > 0 {
			t.Errorf("%s %s: want no findings, got %v", c.pkg.Name, c.pkg.Version, ids(got))
		}
		// No duplicate findings for one vulnerability reached through
		// several records or aliases.
		seen := map[string]string{}
		for _, f := range got {
			for _, id := range append([]string{f.ID}, f.Aliases...) {
				if !match.IsVulnID(id) {
					t.Errorf("%s: alias %s is not a vulnerability id", f.ID, id)
				}
				if prev, ok := seen[id]; ok && prev != f.ID {
					t.Errorf("%s: %s reached by two findings %s and %s", c.pkg.Name, id, prev, f.ID)
				}
				seen[id] = f.ID
			}
		}
	}
	return by
}

func find(fs []match.Finding, id string) *match.Finding {
	for i := range fs {
		if fs[i].Has(id) {
			return &fs[i]
		}
	}
	return nil
}

func ids(fs []match.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"("+strings.Join(f.Aliases, ",")+")")
	}
	sort.Strings(out)
	return out
}

// checkEvidence: every finding explains itself.
func checkEvidence(t *testing.T, f *match.Finding) {
	t.Helper()
	if len(f.Evidence) == 0 {
		t.Errorf("%s %s: no evidence", f.Package.Name, f.ID)
		return
	}
	for _, e := range f.Evidence {
		if e.RecordID == "" || e.Source == "" || e.Compared == "" || e.Version == "" || e.Path == "" || e.LayerIndex == 0 {
			t.Errorf("%s %s: incomplete evidence %+v", f.Package.Name, f.ID, e)
		}
	}
	if f.Severity.Label == "" {
		t.Errorf("%s %s: no severity label", f.Package.Name, f.ID)
	}
}

// Debian bullseye: the DSA list's [bullseye] lines, by source package.
func TestDistroDebian(t *testing.T) {
	dsa5343 := map[string]string{
		// [07 Feb 2023] DSA-5343-1 openssl {CVE-2022-2097 CVE-2022-4304
		// CVE-2022-4450 CVE-2023-0215 CVE-2023-0286}
		// [bullseye] - openssl 1.1.1n-0+deb11u4; installed deb11u3 < deb11u4.
		"CVE-2022-2097": "1.1.1n-0+deb11u4", "CVE-2022-4304": "1.1.1n-0+deb11u4",
		"CVE-2022-4450": "1.1.1n-0+deb11u4", "CVE-2023-0215": "1.1.1n-0+deb11u4",
		"CVE-2023-0286": "1.1.1n-0+deb11u4", "DSA-5343-1": "1.1.1n-0+deb11u4",
	}
	// DSA-5169-1 (CVE-2022-2068) fixed 1.1.1n-0+deb11u3 = installed;
	// DSA-5139-1 (CVE-2022-1292) fixed deb11u2 < installed.
	opensslNot := []string{"CVE-2022-2068", "DSA-5169-1", "CVE-2022-1292", "CVE-2021-3711"}
	by := run(t, []expect{
		// libssl1.1 is a binary of source openssl: looked up by source.
		{pkg: deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "1.1.1n-0+deb11u3", bullseye), want: dsa5343, not: opensslNot},
		{pkg: deb("openssl", "1.1.1n-0+deb11u3", "openssl", "1.1.1n-0+deb11u3", bullseye), want: dsa5343, not: opensslNot},
		// VERSION_CODENAME missing: VERSION_ID 11 is bullseye.
		{pkg: deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "1.1.1n-0+deb11u3", debian11NC), want: dsa5343},
		// DSA-5349-1 gnutls28 [bullseye] 3.7.1-5+deb11u3 (CVE-2023-0361) >
		// installed deb11u2; DSA-5203-1 (CVE-2022-2509) fixed deb11u2 = installed.
		{pkg: deb("libgnutls30", "3.7.1-5+deb11u2", "gnutls28", "3.7.1-5+deb11u2", bullseye),
			want: map[string]string{"CVE-2023-0361": "3.7.1-5+deb11u3"}, not: []string{"CVE-2022-2509"}},
		// DSA-5305-1 libksba 1.5.0-3+deb11u2 (CVE-2022-47629); DSA-5255-1
		// (CVE-2022-3515) fixed deb11u1 = installed.
		{pkg: deb("libksba8", "1.5.0-3+deb11u1", "libksba", "1.5.0-3+deb11u1", bullseye),
			want: map[string]string{"CVE-2022-47629": "1.5.0-3+deb11u2"}, not: []string{"CVE-2022-3515"}},
		// DSA-5286-1 krb5 1.18.3-6+deb11u3 (CVE-2022-42898).
		{pkg: deb("libkrb5-3", "1.18.3-6+deb11u2", "krb5", "1.18.3-6+deb11u2", bullseye),
			want: map[string]string{"CVE-2022-42898": "1.18.3-6+deb11u3"}},
		// Fixed at exactly the installed version: DSA-5271-1 libxml2,
		// DSA-5218-1 zlib (epoch 1 on both sides), DSA-5122-1 gzip,
		// DSA-5123-1 xz-utils, DSA-5055-1 util-linux (bsdutils' own version
		// has epoch 1, the source version compared has none).
		{pkg: deb("libxml2", "2.9.10+dfsg-6.7+deb11u3", "libxml2", "2.9.10+dfsg-6.7+deb11u3", bullseye)},
		{pkg: deb("zlib1g", "1:1.2.11.dfsg-2+deb11u2", "zlib", "1:1.2.11.dfsg-2+deb11u2", bullseye)},
		{pkg: deb("gzip", "1.10-4+deb11u1", "gzip", "1.10-4+deb11u1", bullseye)},
		{pkg: deb("liblzma5", "5.2.5-2.1~deb11u1", "xz-utils", "5.2.5-2.1~deb11u1", bullseye)},
		{pkg: deb("bsdutils", "1:2.36.1-8+deb11u1", "util-linux", "2.36.1-8+deb11u1", bullseye)},
		// The same openssl on bookworm: the bullseye fixes say nothing
		// about bookworm (the snapshot has no bookworm openssl line).
		{pkg: deb("libssl3", "1.1.1n-0+deb11u3", "openssl", "1.1.1n-0+deb11u3", bookworm)},
	})
	f := find(by["deb:libssl1.1@11"], "CVE-2023-0286")
	if f.State != match.StateFixed || f.Matcher != match.KindDistro || f.Confidence != match.ConfidenceHigh {
		t.Errorf("CVE-2023-0286: state %s matcher %s confidence %s", f.State, f.Matcher, f.Confidence)
	}
	e := f.Evidence[0]
	if e.RecordID != "DSA-5343-1" || e.Source != "debian" || e.Distro != "debian" || e.Release != "bullseye" || e.Package != "openssl" ||
		e.Version != "1.1.1n-0+deb11u3" || !strings.Contains(e.Compared, "1.1.1n-0+deb11u4") || e.DocDigest == "" {
		t.Errorf("evidence %+v", e)
	}
}

// Alpine v3.10 secdb main.yaml, by origin package and major.minor.
func TestDistroAlpine(t *testing.T) {
	run(t, []expect{
		// musl secfixes 1.1.22-r3: [CVE-2019-14697] > installed 1.1.22-r2;
		// 1.1.15-r4: [CVE-2016-8859] < installed.
		{pkg: apk("musl", "1.1.22-r2", "musl", alpine310), want: map[string]string{"CVE-2019-14697": "1.1.22-r3"}, not: []string{"CVE-2016-8859"}},
		// libssl1.1 has origin openssl: 1.1.1d-r0 fixes CVE-2019-1547,
		// CVE-2019-1549, CVE-2019-1563; 1.1.1b-r1 (CVE-2019-1543) < 1.1.1c-r0.
		// CVE-2019-1551 is only in the v3.11 file.
		{pkg: apk("libssl1.1", "1.1.1c-r0", "openssl", alpine310),
			want: map[string]string{"CVE-2019-1547": "1.1.1d-r0", "CVE-2019-1549": "1.1.1d-r0", "CVE-2019-1563": "1.1.1d-r0"},
			not:  []string{"CVE-2019-1543", "CVE-2019-1551"}},
		// nginx 1.16.1-r0: CVE-2019-9511, -9513, -9516; CVE-2019-20372 is v3.11 only.
		{pkg: apk("nginx", "1.16.0-r2", "nginx", alpine310),
			want: map[string]string{"CVE-2019-9511": "1.16.1-r0", "CVE-2019-9513": "1.16.1-r0", "CVE-2019-9516": "1.16.1-r0"},
			not:  []string{"CVE-2019-20372"}},
		// nodejs 10.16.3-r0 fixes CVE-2019-9512 among others.
		{pkg: apk("nodejs", "10.16.0-r0", "nodejs", alpine310), want: map[string]string{"CVE-2019-9512": "10.16.3-r0"}},
		// busybox 1.30.1-r2: [CVE-2019-5747] = installed; pcre 7.8-r0 and
		// 8.40-r2 fixes are older than 8.43-r0.
		{pkg: apk("busybox", "1.30.1-r2", "busybox", alpine310)},
		{pkg: apk("pcre", "8.43-r0", "pcre", alpine310)},
		// Alpine 3.14 has no secdb file here: nothing, not the 3.10 lines.
		{pkg: apk("musl", "1.1.22-r2", "musl", alpine314)},
	})
}

// OSV ranges (GHSA, Go vulndb, PyPA) for language packages.
func TestEcosystem(t *testing.T) {
	by := run(t, []expect{
		// GHSA-35jh-r3h4-6jhm: lodash introduced 0 fixed 4.17.21;
		// GHSA-29mw-wpgm-hmr9: lodash fixed 4.17.21.
		{pkg: lang("npm", "lodash", "4.17.20", "app/node_modules/lodash/package.json"),
			want: map[string]string{"GHSA-35jh-r3h4-6jhm": "4.17.21", "CVE-2021-23337": "4.17.21", "GHSA-29mw-wpgm-hmr9": "4.17.21"}},
		{pkg: lang("npm", "lodash", "4.17.21", "v2/node_modules/lodash/package.json")},
		// GHSA-xvch-5gv4-984h: minimist 1.0.0 -> 1.2.6 (and 0 -> 0.2.4).
		{pkg: lang("npm", "minimist", "1.2.5", "app/node_modules/minimist/package.json"), want: map[string]string{"GHSA-xvch-5gv4-984h": "1.2.6"}},
		// GHSA-wf5p-g6vw-rhxx: axios 0.8.1 -> 1.6.0; GHSA-cph5-m8f7-6c5x: 0 -> 0.21.2.
		{pkg: lang("npm", "axios", "0.21.1", "app/node_modules/axios/package.json"),
			want: map[string]string{"GHSA-wf5p-g6vw-rhxx": "1.6.0", "GHSA-cph5-m8f7-6c5x": "0.21.2"}},
		{pkg: lang("npm", "axios", "1.6.0", "v2/node_modules/axios/package.json")},
		// GHSA-27h2-hvpr-p74q: jsonwebtoken fixed 9.0.0 (NVD rejected the
		// CVE, GHSA still lists it: the GHSA record decides).
		{pkg: lang("npm", "jsonwebtoken", "8.5.1", "app/node_modules/jsonwebtoken/package.json"), want: map[string]string{"GHSA-27h2-hvpr-p74q": "9.0.0"}},
		{pkg: lang("npm", "jsonwebtoken", "9.0.0", "v2/node_modules/jsonwebtoken/package.json")},
		// GHSA-r683-j2x4-v87g: node-fetch 0 -> 2.6.7.
		{pkg: lang("npm", "node-fetch", "2.6.0", "app/node_modules/node-fetch/package.json"), want: map[string]string{"GHSA-r683-j2x4-v87g": "2.6.7"}},
		// express 4.17.1: GHSA-rv95-896h-c2vc (0 -> 4.19.2), GHSA-qw6h-vgh9-j6wx (0 -> 4.20.0).
		{pkg: lang("npm", "express", "4.17.1", "app/node_modules/express/package.json"),
			want: map[string]string{"GHSA-rv95-896h-c2vc": "4.19.2", "GHSA-qw6h-vgh9-j6wx": "4.20.0"}},
		// GHSA-hrpp-h998-j3pp: qs 6.7.0 -> 6.7.3 (one of nine ranges).
		{pkg: lang("npm", "qs", "6.7.0", "app/node_modules/qs/package.json"), want: map[string]string{"GHSA-hrpp-h998-j3pp": "6.7.3"}},
		// GHSA-qwcr-r2fm-qrc7 body-parser 0 -> 1.20.3; GHSA-pxg6-pf52-xh8x cookie
		// 0 -> 0.7.0; GHSA-m6fv-jmcg-4jfg send 0 -> 0.19.0; GHSA-cm22-4g7w-348p
		// serve-static 0 -> 1.16.0; GHSA-9wv6-86v2-598j path-to-regexp 0 -> 0.1.10.
		{pkg: lang("npm", "body-parser", "1.19.0", "app/node_modules/body-parser/package.json"), want: map[string]string{"GHSA-qwcr-r2fm-qrc7": "1.20.3"}},
		{pkg: lang("npm", "cookie", "0.4.0", "app/node_modules/cookie/package.json"), want: map[string]string{"GHSA-pxg6-pf52-xh8x": "0.7.0"}},
		{pkg: lang("npm", "send", "0.17.1", "app/node_modules/send/package.json"), want: map[string]string{"GHSA-m6fv-jmcg-4jfg": "0.19.0"}},
		{pkg: lang("npm", "serve-static", "1.14.1", "app/node_modules/serve-static/package.json"), want: map[string]string{"GHSA-cm22-4g7w-348p": "1.16.0"}},
		{pkg: lang("npm", "path-to-regexp", "0.1.7", "app/node_modules/path-to-regexp/package.json"), want: map[string]string{"GHSA-9wv6-86v2-598j": "0.1.10"}},
		// lodash.trim: GHSA-29mw last_affected 4.5.1 -> affected, no fix.
		{pkg: lang("npm", "lodash.trim", "4.5.1", "app/node_modules/lodash.trim/package.json"), want: map[string]string{"GHSA-29mw-wpgm-hmr9": ""}},
		// No advisory names ms.
		{pkg: lang("npm", "ms", "2.0.0", "app/node_modules/ms/package.json")},

		// GO-2023-1737: gin introduced 1.3.1-0.2019… fixed 1.9.1.
		{pkg: lang("golang", "github.com/gin-gonic/gin", "v1.9.0", "usr/local/bin/stella-demo"), want: map[string]string{"GO-2023-1737": "1.9.1"}},
		// GO-2022-1059: golang.org/x/text fixed 0.3.8.
		{pkg: lang("golang", "golang.org/x/text", "v0.3.7", "usr/local/bin/stella-demo"), want: map[string]string{"GO-2022-1059": "0.3.8"}},
		// GO-2022-0603: fixed at pseudo-version 3.0.0-20220521103104-8f96da9f5d5e,
		// which sorts before v3.0.0: v3.0.0 is not affected. NVD's CPE
		// (yaml_project:yaml:3.0.0) must not be used either: Go covers it.
		{pkg: lang("golang", "gopkg.in/yaml.v3", "v3.0.0", "usr/local/bin/stella-demo"), not: []string{"GO-2022-0603", "CVE-2022-28948"}},
		// x/net v0.7.0: GO-2023-1571 fixed 0.7.0 (not affected); GHSA-qppj (0.17.0),
		// GO-2023-2102 (0.17.0), GO-2023-1988 (0.13.0), GO-2024-2687 (0.23.0) affected.
		{pkg: lang("golang", "golang.org/x/net", "v0.7.0", "usr/local/bin/stella-demo"),
			want: map[string]string{"GHSA-qppj-fm5r-hxr3": "0.17.0", "GO-2023-2102": "0.17.0", "GO-2023-1988": "0.13.0", "GO-2024-2687": "0.23.0"},
			not:  []string{"GO-2023-1571", "GO-2022-0969"}},
		// GO-2024-3250: golang-jwt/jwt/v4 fixed 4.5.1.
		{pkg: lang("golang", "github.com/golang-jwt/jwt/v4", "v4.4.1", "usr/local/bin/stella-demo"), want: map[string]string{"GO-2024-3250": "4.5.1"}},
		// Go stdlib go1.21.0: GO-2023-2044 1.21.0-0 -> 1.21.1 affected;
		// GO-2023-1987 1.21.0-0 -> 1.21.0-rc.4 not; GO-2023-2102 -> 1.21.3;
		// GO-2023-1878 (1.20.0-0 -> 1.20.6) not.
		{pkg: lang("golang", "stdlib", "go1.21.0", "usr/local/bin/stella-demo"),
			want: map[string]string{"GO-2023-2044": "1.21.1", "GO-2023-2102": "1.21.3"},
			not:  []string{"GO-2023-1987", "GO-2023-1878", "GO-2023-2095"}},
		{pkg: lang("golang", "stdlib", "go1.21.11", "usr/local/bin/new"), not: []string{"GO-2023-2044", "GO-2024-2887"}},

		// GHSA-599f-7c49-w659: commons-text 1.5 -> 1.10.0: 1.10.0 not affected.
		{pkg: lang("maven", "org.apache.commons:commons-text", "1.10.0", "opt/app/lib/commons-text-1.10.0.jar")},
		// GHSA-57j2-w4cx-62h2: jackson-databind 2.13.0 -> 2.13.2.1 and 0 -> 2.12.6.1.
		{pkg: lang("maven", "com.fasterxml.jackson.core:jackson-databind", "2.13.0", "a/jackson-databind.jar"), want: map[string]string{"GHSA-57j2-w4cx-62h2": "2.13.2.1"}},
		{pkg: lang("maven", "com.fasterxml.jackson.core:jackson-databind", "2.12.6.1", "b/jackson-databind.jar")},
		// GHSA-jfh8-c2jp-5v3q: log4j-core 2.13.0 -> 2.15.0; CVE-2021-44228 is in KEV.
		{pkg: lang("maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "c/log4j-core.jar"), want: map[string]string{"GHSA-jfh8-c2jp-5v3q": "2.15.0"}},
		// log4j-api is not log4j-core.
		{pkg: lang("maven", "org.apache.logging.log4j:log4j-api", "2.14.1", "c/log4j-api.jar")},

		// CVE-2023-32681: GHSA-j8r2-6x86-q33q and PYSEC-2023-74 both say
		// requests 2.3.0 -> 2.31.0: one finding, two evidence records.
		{pkg: lang("pypi", "requests", "2.28.1", "venv/requests-2.28.1.dist-info/METADATA"),
			want: map[string]string{"CVE-2023-32681": "2.31.0", "GHSA-j8r2-6x86-q33q": "2.31.0", "PYSEC-2023-74": "2.31.0"}},
		// PYSEC-2023-135 certifi 2015.4.28 -> 2023.7.22.
		{pkg: lang("pypi", "certifi", "2022.9.24", "venv/certifi/METADATA"), want: map[string]string{"PYSEC-2023-135": "2023.7.22"}},
		// PyYAML 6.0: PYSEC-2021-142 fixed 5.4 -> not affected.
		{pkg: lang("pypi", "PyYAML", "6.0", "venv/PyYAML-6.0.dist-info/METADATA")},
	})
	req := find(by["pypi:requests@2.28.1#venv/requests-2.28.1.dist-info/METADATA"], "CVE-2023-32681")
	if req == nil || len(req.Evidence) != 2 {
		t.Fatalf("requests CVE-2023-32681: want one finding with two evidence records, got %+v", req)
	}
	lod := find(by["npm:lodash@4.17.20#app/node_modules/lodash/package.json"], "CVE-2021-23337")
	if lod.Severity.Label != "HIGH" || lod.Severity.Source != "osv:ghsa" || lod.Matcher != match.KindEcosystem {
		t.Errorf("lodash CVE-2021-23337 severity %+v matcher %s", lod.Severity, lod.Matcher)
	}
	if e := lod.Evidence[0]; e.Compared != "ECOSYSTEM introduced 0, fixed 4.17.21" || e.Path != "app/node_modules/lodash/package.json" || e.LayerIndex != 3 {
		t.Errorf("lodash evidence %+v", e)
	}
	if len(lod.CVSS) == 0 || lod.KEV != nil {
		t.Errorf("lodash CVSS %v KEV %v (CVE-2021-23337 has CVSS, is not in KEV)", lod.CVSS, lod.KEV)
	}
	l4j := find(by["maven:org.apache.logging.log4j:log4j-core@2.14.1#c/log4j-core.jar"], "CVE-2021-44228")
	if l4j.KEV == nil || l4j.KEV.DateAdded != "2021-12-10" || l4j.KEV.Ransomware != "Known" || l4j.Severity.Label != "CRITICAL" {
		t.Errorf("log4j-core CVE-2021-44228: KEV %+v severity %+v", l4j.KEV, l4j.Severity)
	}
	std := find(by["golang:stdlib@go1.21.0#usr/local/bin/stella-demo"], "GO-2023-2044")
	if std.Matcher != match.KindGoStdlib {
		t.Errorf("stdlib matcher %s", std.Matcher)
	}
	trim := find(by["npm:lodash.trim@4.5.1#app/node_modules/lodash.trim/package.json"], "GHSA-29mw-wpgm-hmr9")
	if trim.State != match.StateOpen || len(trim.FixedVersions) != 0 {
		t.Errorf("lodash.trim last_affected: state %s fixed %v, want open and none", trim.State, trim.FixedVersions)
	}
}

// A Debian python3-requests dist-info is owned by its dpkg package: the
// PYSEC/GHSA requests ranges must not be applied to it (Debian backports
// fixes without changing the upstream version).
func TestOwnedByOSNotMatched(t *testing.T) {
	owned := lang("pypi", "requests", "2.28.1", "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO")
	owned.OwnedBy = "pkg:deb/debian/python3-requests@2.28.1+dfsg-1?arch=all&distro=debian-12"
	owned.CPEs = []string{"cpe:2.3:a:python:requests:2.28.1:*:*:*:*:*:*:*"}
	urllib := lang("pypi", "urllib3", "1.26.12", "usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO")
	urllib.OwnedBy = "pkg:deb/debian/python3-urllib3@1.26.12-1?arch=all&distro=debian-12"
	db := matchtest.Open(t)
	fs, st, err := match.New(db, nil).Match(context.Background(), []sbom.Package{owned, urllib})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Errorf("owned packages matched: %v", ids(fs))
	}
	if st.Skipped.OwnedByOS != 2 {
		t.Errorf("skipped owned = %d, want 2", st.Skipped.OwnedByOS)
	}
	// The same package unowned (a pip install) is matched.
	owned.OwnedBy = ""
	fs, _, err = match.New(db, nil).Match(context.Background(), []sbom.Package{owned})
	if err != nil {
		t.Fatal(err)
	}
	if find(fs, "CVE-2023-32681") == nil {
		t.Errorf("unowned requests 2.28.1: CVE-2023-32681 missing, got %v", ids(fs))
	}
}

// NVD CPE configurations apply only where no distro or ecosystem source
// covers the package, with low confidence.
func TestCPEFallback(t *testing.T) {
	// CVE-2023-38545: cpe:2.3:a:haxx:libcurl:* 7.69.0 <= v < 8.4.0.
	curl := sbom.Package{ID: "bin:libcurl", Name: "libcurl", Version: "8.0.1", LayerIndex: 2, Layer: "sha256:l2",
		Paths: []string{"opt/curl/lib/libcurl.so.4"}, CPEs: []string{"cpe:2.3:a:haxx:libcurl:8.0.1:*:*:*:*:*:*:*"}}
	curlNew := curl
	curlNew.ID, curlNew.Version, curlNew.CPEs = "bin:libcurl-new", "8.4.0", []string{"cpe:2.3:a:haxx:libcurl:8.4.0:*:*:*:*:*:*:*"}
	// lodash 4.17.20 with NVD's CPE: GHSA covers lodash, so the CVE comes
	// from the ecosystem matcher only.
	lod := lang("npm", "lodash", "4.17.20", "app/node_modules/lodash/package.json")
	lod.CPEs = []string{"cpe:2.3:a:lodash:lodash:4.17.20:*:*:*:*:node.js:*:*"}
	// musl on alpine 3.10 (secdb covers it) vs alpine 3.14 (no secdb here):
	// CVE-2019-14697 cpe musl-libc:musl 0.9.12 <= v < 1.1.23.
	musl310 := apk("musl", "1.1.22-r2", "musl", alpine310)
	musl310.CPEs = []string{"cpe:2.3:a:musl-libc:musl:1.1.22:*:*:*:*:*:*:*"}
	musl314 := apk("musl", "1.1.22-r2", "musl", alpine314)
	musl314.CPEs = musl310.CPEs
	db := matchtest.Open(t)
	fs, _, err := match.New(db, nil).Match(context.Background(), []sbom.Package{curl, curlNew, lod, musl310, musl314})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]match.Finding{}
	for _, f := range fs {
		by[f.Package.ID] = append(by[f.Package.ID], f)
	}
	c := find(by["bin:libcurl"], "CVE-2023-38545")
	if c == nil {
		t.Fatalf("libcurl 8.0.1: CVE-2023-38545 missing: %v", ids(by["bin:libcurl"]))
	}
	if c.Confidence != match.ConfidenceLow || c.Matcher != match.KindCPE || !slices.Contains(c.FixedVersions, "8.4.0") ||
		c.Severity.Label != "CRITICAL" || c.Evidence[0].CPE == "" || !strings.Contains(c.Evidence[0].Compared, "< 8.4.0") {
		t.Errorf("libcurl finding %+v", c)
	}
	if len(by["bin:libcurl-new"]) != 0 {
		t.Errorf("libcurl 8.4.0: %v", ids(by["bin:libcurl-new"]))
	}
	for _, f := range by[lod.ID] {
		if f.Matcher == match.KindCPE || f.Confidence != match.ConfidenceHigh {
			t.Errorf("lodash reached by CPE although GHSA covers it: %+v", f)
		}
	}
	m310 := find(by[musl310.ID], "CVE-2019-14697")
	if m310 == nil || m310.Matcher != match.KindDistro {
		t.Errorf("musl alpine 3.10: want distro finding, got %+v", m310)
	}
	m314 := find(by[musl314.ID], "CVE-2019-14697")
	if m314 == nil || m314.Matcher != match.KindCPE || m314.Confidence != match.ConfidenceLow {
		t.Errorf("musl alpine 3.14 (no secdb): want low-confidence CPE finding, got %+v", m314)
	}
}
