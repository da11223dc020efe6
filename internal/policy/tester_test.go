package policy

import (
	"context"
	"testing"
)

// The default bundle's Rego unit tests pass, run as `stella policy test`
// runs them.
func TestBuiltinRegoTests(t *testing.T) {
	res, err := RunTests(context.Background(), TestOptions{Builtin: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) < 20 {
		t.Errorf("%d Rego tests ran, want the default bundle's (at least 20)", len(res))
	}
	for _, r := range res {
		t.Log(r)
		if !r.Pass {
			t.Errorf("%s\n%s", r, r.Output)
		}
	}
}
