package cache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/testsvc"
)

// contract runs the same assertions against every backend.
func contract(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("get-put-delete", func(t *testing.T) {
		s := open(t)
		if _, ok, err := s.Get(ctx, "layer/a"); ok || err != nil {
			t.Fatalf("empty store: ok=%v err=%v", ok, err)
		}
		if err := s.Put(ctx, "layer/a", []byte("one")); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.Get(ctx, "layer/a")
		if err != nil || !ok || string(v) != "one" {
			t.Fatalf("got %q %v %v", v, ok, err)
		}
		if err := s.Put(ctx, "layer/a", []byte("two")); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.Get(ctx, "layer/a"); string(v) != "two" {
			t.Fatalf("overwrite: got %q", v)
		}
		if err := s.Delete(ctx, "layer/a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "layer/a"); ok {
			t.Fatal("deleted key still there")
		}
		if err := s.Delete(ctx, "layer/absent"); err != nil {
			t.Fatalf("deleting an absent key: %v", err)
		}
	})
	t.Run("bad-keys", func(t *testing.T) {
		s := open(t)
		for _, k := range []string{"", "a b", "a\nb", string(make([]byte, 600))} {
			if err := s.Put(ctx, k, []byte("x")); err == nil {
				t.Errorf("Put(%q) accepted", k)
			}
		}
	})
	t.Run("binary-values", func(t *testing.T) {
		s := open(t)
		val := make([]byte, 256<<10)
		for i := range val {
			val[i] = byte(i * 7)
		}
		if err := s.Put(ctx, "bin", val); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Get(ctx, "bin")
		if err != nil || !ok || !bytes.Equal(got, val) {
			t.Fatalf("binary value changed: ok=%v err=%v len=%d", ok, err, len(got))
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					k := fmt.Sprintf("k%d", i%5)
					want := bytes.Repeat([]byte{byte(w)}, 4096)
					if err := s.Put(ctx, k, want); err != nil {
						t.Error(err)
						return
					}
					v, ok, err := s.Get(ctx, k)
					if err != nil || !ok {
						t.Error("lost", k, err)
						return
					}
					// Whatever writer won, the value is whole.
					if len(v) != 4096 || !bytes.Equal(v, bytes.Repeat(v[:1], 4096)) {
						t.Errorf("torn value for %s", k)
						return
					}
				}
			}(w)
		}
		wg.Wait()
	})
}

func TestDisk(t *testing.T) {
	contract(t, func(t *testing.T) Store {
		s, err := OpenDisk(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestRedis(t *testing.T) {
	url := testsvc.Redis(t, "maxmemory 64mb", "maxmemory-policy allkeys-lru")
	contract(t, func(t *testing.T) Store {
		s, err := OpenRedis(url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.c.FlushDB(context.Background()); s.Close() })
		return s
	})
	t.Run("ttl", func(t *testing.T) {
		s, err := OpenRedis(url, Options{TTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Put(context.Background(), "short", []byte("x"))
		if d := s.c.TTL(context.Background(), redisPrefix+"short").Val(); d <= 0 || d > time.Second {
			t.Fatalf("ttl %v", d)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		_, err := OpenRedis(fmt.Sprintf("redis://127.0.0.1:%d/0", testsvc.FreePort(t)), Options{})
		if err == nil {
			t.Fatal("no error for a closed port")
		}
	})
}

// The disk store keeps the most recently used entries within its bound.
func TestDiskLRU(t *testing.T) {
	ctx := context.Background()
	s, err := OpenDisk(t.TempDir(), Options{MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	val := make([]byte, 8<<10)
	old := time.Now().Add(-time.Hour)
	for i := 0; i < 6; i++ {
		s.Put(ctx, fmt.Sprintf("e%d", i), val)
	}
	// Make e0..e5 old, then use e0 so that it is the most recent.
	for i := 0; i < 6; i++ {
		p := s.path(fmt.Sprintf("e%d", i))
		ts := old.Add(time.Duration(i) * time.Minute)
		if err := osChtimes(p, ts); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := s.Get(ctx, "e0"); !ok {
		t.Fatal("e0 missing")
	}
	for i := 6; i < 12; i++ {
		s.Put(ctx, fmt.Sprintf("e%d", i), val)
	}
	if err := s.Evict(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "e0"); !ok {
		t.Error("the most recently used old entry was evicted")
	}
	if _, ok, _ := s.Get(ctx, "e1"); ok {
		t.Error("the least recently used entry survived")
	}
	if _, ok, _ := s.Get(ctx, "e11"); !ok {
		t.Error("the newest entry was evicted")
	}
}

func osChtimes(p string, ts time.Time) error { return os.Chtimes(p, ts, ts) }
