package server

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzAccountInput: the names and bodies of the user, tenant and policy
// endpoints never panic, and what they accept is bounded and printable
// (no path separators in tenant or policy names).
func FuzzAccountInput(f *testing.F) {
	for _, s := range [][2]string{
		{"bob@example.com", `{"role":"viewer","name":"Bob"}`},
		{"auth0|123", `{"role":"admin","disabled":true}`},
		{" bob", `{"role":"root"}`},
		{"a\nb", `{"displayName":"ACME","scansPerDay":5}`},
		{"acme", `{"name":"no-latest.rego","module":"package x"}`},
		{"../x.rego", `{"scansPerDay":-1} trailing`},
		{"", `[]`},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		if validSubject(name) {
			if len(name) > maxSubject || strings.TrimSpace(name) != name || !utf8.ValidString(name) {
				t.Fatalf("accepted subject %q", name)
			}
			for _, r := range name {
				if !unicode.IsPrint(r) {
					t.Fatalf("accepted subject %q with %U", name, r)
				}
			}
		}
		if validName(name) {
			if len(name) > maxName || !utf8.ValidString(name) {
				t.Fatalf("accepted display name %q", name)
			}
			for _, r := range name {
				if !unicode.IsPrint(r) {
					t.Fatalf("accepted display name %q with %U", name, r)
				}
			}
		}
		if tenantName.MatchString(name) && (len(name) > 63 || strings.ContainsAny(name, "/\\ \n") || strings.HasPrefix(name, ".")) {
			t.Fatalf("accepted tenant %q", name)
		}
		if policyName.MatchString(name) && (strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".rego")) {
			t.Fatalf("accepted policy file %q", name)
		}
		for _, v := range []any{&UserUpdate{}, &TenantUpdate{}, &PolicyUpload{}, &PolicyTest{}} {
			if err := decodeStrict(body, v); err != nil {
				if _, ok := err.(*requestError); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
			}
		}
	})
}
