package license

import (
	"flag"
	"testing"
)

// update is here so that go test ./... -update runs this package too; it
// has no golden files.
var _ = flag.Bool("update", false, "rewrite golden files (none here)")

func TestID(t *testing.T) {
	for in, want := range map[string]string{
		"MIT": "MIT", "mit": "MIT", "Apache-2.0": "Apache-2.0", "GPL-2.0": "GPL-2.0",
		"GPL-2.0-or-later": "GPL-2.0-or-later", "Apache License 2.0": "", "MIT OR Apache-2.0": "", "": "",
	} {
		got, ok := ID(in)
		if got != want || ok != (want != "") {
			t.Errorf("ID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestExpressionAndRef(t *testing.T) {
	for in, want := range map[string]bool{
		"MIT": true, "MIT OR Apache-2.0": true, "GPL-2.0-or-later WITH Classpath-exception-2.0": true,
		"(MIT AND BSD-3-Clause) OR GPL-2.0-only": true, "Apache License, Version 2.0": false, "MIT OR": false, "": false,
	} {
		if got := Expression(in); got != want {
			t.Errorf("Expression(%q) = %v", in, got)
		}
	}
	if got := Ref("Apache License, Version 2.0"); got != "LicenseRef-Apache-License-Version-2.0" {
		t.Errorf("Ref: %q", got)
	}
	if got := Ref("©©"); got != "LicenseRef-unknown" {
		t.Errorf("Ref: %q", got)
	}
}
