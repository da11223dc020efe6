package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// doubling is a rule that doubles a string n times: 32 bytes * 2^n.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString("package hostile\n\ndeny contains \"big\" if {\n\ta0 := \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\ta%d := concat(\"\", [a%d, a%d])\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "\tcount(a%d) > 0\n}\n", n)
	return b.String()
}

// A policy that asks for more memory than it may is stopped with a clear
// error, before the process holds much more than the bound: built-ins
// refuse outputs past their size, and a rule that grows the heap step by
// step is stopped by the heap watch.
func TestEvaluationMemory(t *testing.T) {
	const bound = 256 << 20
	cases := []struct {
		name, src, want string
	}{
		{"concat doubling", doubling(40), "concat: the result would be"},
		{"sprintf padding", "package hostile\n\ndeny contains m if {\n\tm := sprintf(\"" + strings.Repeat("%0900000d", 20) + "\", [" + strings.Repeat("1, ", 19) + "1])\n}\n", "sprintf: the result would be"},
		{"replace amplification", "package hostile\n\ndeny contains \"big\" if {\n\ta := replace(\"" + strings.Repeat("x", 1000) + "\", \"x\", \"" + strings.Repeat("y", 1000) + "\")\n\tb := replace(a, \"y\", \"" + strings.Repeat("z", 1000) + "\")\n\tcount(b) > 0\n}\n", "replace: the result would be"},
		{"regex amplification", "package hostile\n\ndeny contains m if {\n\tm := regex.replace(\"" + strings.Repeat("x", 10000) + "\", \"\", \"" + strings.Repeat("y", 2000) + "\")\n}\n", "regex.replace: the result would be"},
		{"huge range", "package hostile\n\ndeny contains \"big\" if {\n\tcount(numbers.range(1, 1000000000000)) > 0\n}\n", "numbers.range: the result would have"},
		{"growth step by step", "package hostile\n\nbig := numbers.range(1, 1000000)\n\ndeny contains \"big\" if {\n\txs := [y | some i in numbers.range(1, 100000); y := array.concat(big, [i])]\n\tcount(xs) > 0\n}\n", "the heap grew by"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "hostile.rego"), []byte(c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			e := mustLoad(t, Options{Dirs: []string{dir}, Timeout: time.Minute, MaxMemory: bound})
			// The peak heap growth while the policy runs, sampled often.
			base := heapBytes()
			var peak atomic.Int64
			done := make(chan struct{})
			go func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if g := heapBytes() - base; g > peak.Load() {
						peak.Store(g)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			t0 := time.Now()
			_, err := e.Evaluate(context.Background(), input("registry.example.com/app:1"))
			close(done)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if c.want == "the heap grew by" && !errors.Is(err, ErrMemory) {
				t.Errorf("%v is not ErrMemory", err)
			}
			if p := peak.Load(); p > 2*bound {
				t.Errorf("the heap grew by %d MiB, bound %d MiB", p>>20, bound>>20)
			}
			t.Logf("%v (after %s, heap +%d MiB at most)", err, time.Since(t0).Round(time.Millisecond), peak.Load()>>20)
		})
	}
}
