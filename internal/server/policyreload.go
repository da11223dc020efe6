package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/stella-scan/stella/internal/policy"
)

// ReloadablePolicy is a policy.Evaluator whose engine Reload replaces.
// Give it to core.Local.Policy and its Reload to Admin.PolicyReload: a
// policy uploaded on the admin page then decides this process's next
// scans. Evaluations already running finish with the engine they began
// with. Safe for concurrent use.
type ReloadablePolicy struct {
	opts policy.Options
	cur  atomic.Pointer[policy.Engine]
	// mu orders reloads: a slow one must not replace a later one's
	// engine with an older set.
	mu sync.Mutex
}

var _ policy.Evaluator = (*ReloadablePolicy)(nil)

// NewReloadablePolicy starts from current (the engine loaded from opts at
// start); Reload loads opts again.
func NewReloadablePolicy(current *policy.Engine, opts policy.Options) *ReloadablePolicy {
	r := &ReloadablePolicy{opts: opts}
	r.cur.Store(current)
	return r
}

// Evaluate implements policy.Evaluator.
func (r *ReloadablePolicy) Evaluate(ctx context.Context, in *policy.Input) (*policy.Decision, error) {
	e := r.cur.Load()
	if e == nil {
		return nil, errors.New("policy: no engine loaded")
	}
	return e.Evaluate(ctx, in)
}

// Reload compiles the policy directories again and, when they compile,
// swaps the engine; otherwise the current one stays.
func (r *ReloadablePolicy) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, err := policy.Load(ctx, r.opts)
	if err != nil {
		return err
	}
	r.cur.Store(e)
	return nil
}
