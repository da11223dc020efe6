package license

import "testing"

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"MIT":                         "MIT",
		"mit":                         "MIT",
		"Apache 2.0":                  "Apache-2.0",
		"Apache License, Version 2.0": "Apache-2.0",
		"BSD-3-Clause":                "BSD-3-Clause",
		"(MIT OR Apache-2.0)":         "(MIT OR Apache-2.0)",
		"mit or apache-2.0":           "MIT OR Apache-2.0",
		"GPL-2.0-only WITH Classpath-exception-2.0": "GPL-2.0-only WITH Classpath-exception-2.0",
		"MIT License": "MIT",
		"LGPL":        "LGPL", // a family, not an id: kept as written
		"UNKNOWN":     "",
		"":            "",
		"Copyright (c) 2015 Hynek\nPermission is hereby granted": "",
		"MIT AND":       "MIT AND",
		"MIT OR OR ISC": "MIT OR OR ISC",
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromClassifier(t *testing.T) {
	if got := FromClassifier("License :: OSI Approved ::  MIT License"); got != "MIT" {
		t.Errorf("got %q", got)
	}
	if got := FromClassifier("License :: OSI Approved :: GNU General Public License (GPL)"); got != "" {
		t.Errorf("got %q, want none for a family", got)
	}
}
