package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis stores entries as plain keys with a TTL under a "stella:" prefix.
// Eviction beyond the TTL is Redis's own: run the server with
// maxmemory and maxmemory-policy allkeys-lru.
type Redis struct {
	c   *redis.Client
	ttl time.Duration
}

// OpenRedis connects to redis://[user:pass@]host:port/db.
func OpenRedis(url string, o Options) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", redactURL(url), err)
	}
	if o.TTL <= 0 {
		o.TTL = 30 * 24 * time.Hour
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cache %s: %w", redactURL(url), err)
	}
	return &Redis{c: c, ttl: o.TTL}, nil
}

const redisPrefix = "stella:"

// Get reads an entry.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	b, err := r.c.Get(ctx, redisPrefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache entry %s: %w", key, err)
	}
	return b, true, nil
}

// Put writes an entry with the TTL; SET is atomic.
func (r *Redis) Put(ctx context.Context, key string, val []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := r.c.Set(ctx, redisPrefix+key, val, r.ttl).Err(); err != nil {
		return fmt.Errorf("cache entry %s: %w", key, err)
	}
	return nil
}

// Delete removes an entry.
func (r *Redis) Delete(ctx context.Context, key string) error {
	return r.c.Del(ctx, redisPrefix+key).Err()
}

// Close closes the connection pool.
func (r *Redis) Close() error { return r.c.Close() }

// redactURL hides a password in a URL for messages.
func redactURL(u string) string {
	opt, err := redis.ParseURL(u)
	if err != nil || opt.Password == "" {
		return u
	}
	return "redis://" + opt.Addr
}
