package cvss

import "testing"

// Scores published by NVD for the vectors in ../shared/testdata/feeds.
func TestBaseScore(t *testing.T) {
	for _, tc := range []struct {
		vector string
		want   float64
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},  // CVE-2023-38545
		{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2},  // CVE-2021-23337
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8},  // CVE-2023-4911
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0}, // CVE-2021-44228
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.3},  // CVE-2024-8088 (Red Hat)
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5},
		{"AV:N/AC:L/Au:S/C:P/I:P/A:P", 6.5}, // CVE-2021-23337 v2
		{"AV:N/AC:L/Au:N/C:N/I:N/A:N", 0},
	} {
		got, ok := BaseScore(tc.vector)
		if !ok || got != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.vector, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "CVSS:3.1/AV:X", "CVSS:3.1/AV:N/AV:N", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"} {
		if _, ok := BaseScore(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if Label(9.8, false) != "CRITICAL" || Label(9.8, true) != "HIGH" || Label(5.3, false) != "MEDIUM" {
		t.Error("labels")
	}
}

func FuzzBaseScore(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
	f.Add("AV:N/AC:L/Au:S/C:P/I:P/A:P")
	f.Fuzz(func(t *testing.T, v string) {
		if s, ok := BaseScore(v); ok && (s < 0 || s > 10) {
			t.Fatalf("%q: score %v", v, s)
		}
	})
}
