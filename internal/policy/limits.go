package policy

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Memory bounds for one evaluation. A rule can ask a built-in for a value
// far larger than its arguments (concat of a string with itself many
// times, a huge numbers.range), faster than a deadline can stop it, so
// those built-ins refuse outputs past these sizes before they allocate;
// and a rule that grows memory step by step is stopped by the heap
// watch (Options.MaxMemory).
const (
	// MaxBuiltinString is the largest string a built-in may produce.
	MaxBuiltinString = 16 << 20
	// MaxBuiltinElems is the most elements a built-in may produce in
	// one array or set.
	MaxBuiltinElems = 1 << 20
	// DefaultMaxMemory bounds the heap growth of the process during one
	// evaluation.
	DefaultMaxMemory = 1 << 30
)

// ErrMemory is why an evaluation stopped when it grew the heap past its
// bound.
var ErrMemory = errors.New("the policy used more memory than allowed")

// guarded built-ins: each estimates its output from its operands and
// refuses when the estimate passes a bound. The estimates are upper
// bounds, so a refusal names a rule that really asked for that much.
var guarded = map[string]func(ops []*ast.Term) error{
	ast.Concat.Name: func(ops []*ast.Term) error {
		return stringsSize(ops[1], int64(len(stringOf(ops[0])))*int64(lenOf(ops[1])))
	},
	ast.Sprintf.Name: func(ops []*ast.Term) error {
		f := stringOf(ops[0])
		return stringsSize(ops[1], int64(len(f))+widths(f))
	},
	ast.ArrayConcat.Name: func(ops []*ast.Term) error {
		return elems(int64(lenOf(ops[0])) + int64(lenOf(ops[1])))
	},
	ast.ReplaceN.Name: func(ops []*ast.Term) error {
		s := stringOf(ops[1])
		grow := int64(0)
		if o, ok := ops[0].Value.(ast.Object); ok {
			o.Foreach(func(k, v *ast.Term) {
				if old := stringOf(k); old != "" {
					grow += int64(strings.Count(s, old)) * int64(len(stringOf(v)))
				}
			})
		}
		return size(int64(len(s)) + grow)
	},
	ast.Replace.Name: func(ops []*ast.Term) error {
		s, old := stringOf(ops[0]), stringOf(ops[1])
		n := int64(len(s) + 1) // an empty old matches between every rune
		if old != "" {
			n = int64(strings.Count(s, old))
		}
		return size(int64(len(s)) + n*int64(len(stringOf(ops[2]))))
	},
	ast.RegexReplace.Name: func(ops []*ast.Term) error {
		// A pattern may match at every position, an empty one included.
		s := int64(len(stringOf(ops[0])))
		return size(s + (s+1)*int64(len(stringOf(ops[2]))))
	},
	ast.NumbersRange.Name: func(ops []*ast.Term) error {
		return elems(rangeLen(ops[0], ops[1], nil))
	},
	ast.NumbersRangeStep.Name: func(ops []*ast.Term) error {
		return elems(rangeLen(ops[0], ops[1], ops[2]))
	},
}

func init() {
	for name, check := range guarded {
		orig := topdown.GetBuiltin(name)
		if orig == nil {
			panic("policy: no built-in " + name + " to guard")
		}
		topdown.RegisterBuiltinFunc(name, func(bctx topdown.BuiltinContext, ops []*ast.Term, iter func(*ast.Term) error) error {
			if err := check(ops); err != nil {
				// Halt, not a plain error: OPA would make a failing
				// built-in undefined, and a rule that stops firing
				// because it was refused would pass the image.
				return topdown.Halt{Err: &topdown.Error{Code: topdown.BuiltinErr, Message: name + ": " + err.Error(), Location: bctx.Location}}
			}
			return orig(bctx, ops, iter)
		})
	}
}

func size(n int64) error {
	if n > MaxBuiltinString {
		return fmt.Errorf("the result would be %d bytes, more than the %d allowed", n, MaxBuiltinString)
	}
	return nil
}

func elems(n int64) error {
	if n > MaxBuiltinElems {
		return fmt.Errorf("the result would have %d elements, more than the %d allowed", n, MaxBuiltinElems)
	}
	return nil
}

// stringsSize checks extra plus the sizes of the members of coll (an
// array or a set), strings by their length and other values by their
// text. It runs on every call of sprintf, so it allocates nothing for
// strings.
func stringsSize(coll *ast.Term, extra int64) error {
	n := extra
	each(coll.Value, func(t *ast.Term) {
		if n > MaxBuiltinString {
			return
		}
		if s, ok := t.Value.(ast.String); ok {
			n += int64(len(s))
		} else {
			n += int64(termSize(t.Value))
		}
	})
	return size(n)
}

// termSize is the length of v's text, as sprintf's %v writes it at most.
func termSize(v ast.Value) int { return len(v.String()) }

func stringOf(t *ast.Term) string {
	s, _ := t.Value.(ast.String)
	return string(s)
}

func lenOf(t *ast.Term) int {
	switch v := t.Value.(type) {
	case *ast.Array:
		return v.Len()
	case ast.Set:
		return v.Len()
	}
	return 0
}

// widths sums the numbers in a format string: padding such as %0900d
// produces that many bytes.
func widths(f string) int64 {
	var total, cur int64
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c >= '0' && c <= '9' {
			cur = min(cur*10+int64(c-'0'), MaxBuiltinString+1)
			continue
		}
		total += cur
		cur = 0
	}
	return total + cur
}

// rangeLen is the number of elements numbers.range(a, b) (or
// range_step with step) gives; a huge value when they are not numbers,
// which the built-in then refuses itself.
func rangeLen(a, b, step *ast.Term) int64 {
	x, okx := bigOf(a)
	y, oky := bigOf(b)
	if !okx || !oky {
		return 0 // the built-in reports the type error
	}
	d := new(big.Int).Sub(y, x)
	d.Abs(d)
	if step != nil {
		if s, ok := bigOf(step); ok && s.Sign() > 0 {
			d.Quo(d, s)
		}
	}
	if !d.IsInt64() {
		return MaxBuiltinElems + 1
	}
	return d.Int64() + 1
}

func bigOf(t *ast.Term) (*big.Int, bool) {
	n, ok := t.Value.(ast.Number)
	if !ok {
		return nil, false
	}
	i, ok := new(big.Int).SetString(string(n), 10)
	return i, ok
}

// watchHeap cancels ctx with ErrMemory when the process's heap grows more
// than max bytes while the evaluation runs; stop ends the watch. The heap
// is the whole process's, so a scan allocating at the same time counts
// too: the bound is set far above what any decision needs (a few MB for
// a thousand findings).
func watchHeap(ctx context.Context, max int64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	base := heapBytes()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if grown := heapBytes() - base; grown > max {
					cancel(fmt.Errorf("%w: the heap grew by %.1f MiB, more than the %.1f MiB allowed", ErrMemory, mib(grown), mib(max)))
					return
				}
			}
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// heapBytes is the memory held by heap objects, live or not yet swept.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
