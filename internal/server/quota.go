package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Counter counts events in fixed windows. Incr adds one to key, which
// expires window after its first increment, and returns the new count and
// how long the key has left.
type Counter interface {
	Incr(ctx context.Context, key string, window time.Duration) (n int64, ttl time.Duration, err error)
}

// MemCounter is a Counter for one gateway process.
type MemCounter struct {
	mu   sync.Mutex
	m    map[string]*memCount
	now  func() time.Time
	sewn time.Time // last sweep of expired keys
}

type memCount struct {
	n       int64
	expires time.Time
}

// NewMemCounter returns an empty in-memory counter.
func NewMemCounter(now func() time.Time) *MemCounter {
	if now == nil {
		now = time.Now
	}
	return &MemCounter{m: map[string]*memCount{}, now: now}
}

func (c *MemCounter) Incr(_ context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.sewn) > time.Minute {
		for k, v := range c.m {
			if !now.Before(v.expires) {
				delete(c.m, k)
			}
		}
		c.sewn = now
	}
	e, ok := c.m[key]
	if !ok || !now.Before(e.expires) {
		e = &memCount{expires: now.Add(window)}
		c.m[key] = e
	}
	e.n++
	return e.n, e.expires.Sub(now), nil
}

// incrScript increments and sets the expiry of a new key in one atomic
// step, so that gateways sharing the Redis never leave a key without TTL.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// RedisCounter is a Counter shared by every gateway using the same Redis.
type RedisCounter struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedisCounter counts in Redis under keys starting with "stella:quota:".
func NewRedisCounter(c redis.UniversalClient) *RedisCounter {
	return &RedisCounter{c: c, prefix: "stella:quota:"}
}

// OpenRedisCounter connects to a redis:// URL.
func OpenRedisCounter(ctx context.Context, url string) (*RedisCounter, func() error, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("quota redis %s: %w", url, err)
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("quota redis %s: %w", opt.Addr, err)
	}
	return NewRedisCounter(c), c.Close, nil
}

func (r *RedisCounter) Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	v, err := incrScript.Run(ctx, r.c, []string{r.prefix + key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("quota counter %s: %w", key, err)
	}
	if len(v) != 2 {
		return 0, 0, fmt.Errorf("quota counter %s: unexpected reply %v", key, v)
	}
	return v[0], time.Duration(v[1]) * time.Millisecond, nil
}

// QuotaConfig limits each tenant. Zero disables a limit.
type QuotaConfig struct {
	// Counter keeps the counts (MemCounter by default).
	Counter Counter
	// RequestsPerMinute bounds every authenticated API request.
	RequestsPerMinute int
	// ScansPerDay bounds POST /api/scan per UTC day.
	ScansPerDay int
}

// quotaExceeded is a refused request; RetryAfter goes to the client.
type quotaExceeded struct {
	What       string
	Limit      int
	RetryAfter time.Duration
}

func (q *quotaExceeded) Error() string {
	return fmt.Sprintf("%s quota of %d exceeded; retry in %ds", q.What, q.Limit, retrySeconds(q.RetryAfter))
}

func retrySeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

type quotas struct {
	cfg QuotaConfig
	now func() time.Time
	// limits, when set, gives a tenant's limits in force (its stored
	// overrides, else cfg's).
	limits func(ctx context.Context, tenant string) (requestsPerMinute, scansPerDay int)
}

func (q *quotas) limitsOf(ctx context.Context, tenant string) (requestsPerMinute, scansPerDay int) {
	if q.limits == nil {
		return q.cfg.RequestsPerMinute, q.cfg.ScansPerDay
	}
	return q.limits(ctx, tenant)
}

// request counts one API request of tenant in the current minute.
func (q *quotas) request(ctx context.Context, tenant string) error {
	limit, _ := q.limitsOf(ctx, tenant)
	if limit <= 0 {
		return nil
	}
	now := q.now().UTC()
	key := fmt.Sprintf("rate:%s:%d", tenant, now.Unix()/60)
	window := time.Minute - time.Duration(now.Unix()%60)*time.Second
	return q.take(ctx, key, window, limit, "request rate (per minute)")
}

// scan counts one scan of tenant in the current UTC day.
func (q *quotas) scan(ctx context.Context, tenant string) error {
	_, limit := q.limitsOf(ctx, tenant)
	if limit <= 0 {
		return nil
	}
	now := q.now().UTC()
	day := now.Truncate(24 * time.Hour)
	key := fmt.Sprintf("scans:%s:%s", tenant, day.Format("2006-01-02"))
	return q.take(ctx, key, day.Add(24*time.Hour).Sub(now), limit, "daily scan")
}

func (q *quotas) take(ctx context.Context, key string, window time.Duration, limit int, what string) error {
	n, ttl, err := q.cfg.Counter.Incr(ctx, key, window)
	if err != nil {
		return err
	}
	if n > int64(limit) {
		return &quotaExceeded{What: what, Limit: limit, RetryAfter: ttl}
	}
	return nil
}
