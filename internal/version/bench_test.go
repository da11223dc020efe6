package version

import "testing"

// BenchmarkInRange measures one range evaluation as the matcher does it per
// package and advisory range (design budget: > 100k packages/s overall).
func BenchmarkInRange(b *testing.B) {
	for _, bc := range []struct {
		eco, v string
		events []Event
	}{
		{"npm", "4.17.20", []Event{{Introduced: "0"}, {Fixed: "4.17.21"}}},
		{"golang", "go1.21.0", []Event{{Introduced: "0"}, {Fixed: "1.20.10"}, {Introduced: "1.21.0-0"}, {Fixed: "1.21.3"}}},
		{"deb", "1:1.2.13.dfsg-1", []Event{{Introduced: "0"}, {Fixed: "1:1.2.13.dfsg-1+deb12u1"}}},
		{"rpm", "1:3.0.7-24.el9", []Event{{Introduced: "0"}, {Fixed: "1:3.0.7-25.el9"}}},
		{"apk", "3.1.4-r5", []Event{{Introduced: "0"}, {Fixed: "3.1.4-r6"}}},
		{"pypi", "2.28.1", []Event{{Introduced: "2.3.0"}, {Fixed: "2.31.0"}}},
		{"maven", "2.13.2", []Event{{Introduced: "2.13.0"}, {Fixed: "2.13.2.1"}}},
	} {
		c, _ := For(bc.eco)
		b.Run(bc.eco, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := InRange(c, bc.v, bc.events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
