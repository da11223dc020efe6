package mongo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/storetest"
	"github.com/stella-scan/stella/internal/testsvc"
)

var dbSeq atomic.Int64

// freshDB returns the URL of a database no other test uses.
func freshDB(t *testing.T, server string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	name = fmt.Sprintf("t%d_%s", dbSeq.Add(1), name)
	if len(name) > 40 {
		name = name[:40]
	}
	return server + name
}

func open(t *testing.T, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestContract runs the store contract against FerretDB, one database per
// subtest.
func TestContract(t *testing.T) {
	server := testsvc.FerretDB(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, freshDB(t, server)) })
}

func TestPending(t *testing.T) {
	server := testsvc.FerretDB(t)
	storetest.RunPending(t, func(t *testing.T) store.Store { return open(t, freshDB(t, server)) })
}

func TestOpen(t *testing.T) {
	server := testsvc.FerretDB(t)

	t.Run("CreatesIndexes", func(t *testing.T) {
		url := freshDB(t, server)
		st := open(t, url)
		defer st.Close()
		if want := url[strings.LastIndex(url, "/")+1:]; st.Database() != want {
			t.Fatalf("database = %q, want %q (from the URL path)", st.Database(), want)
		}
		check := func(st *Store) {
			t.Helper()
			for coll, models := range Indexes {
				cur, err := st.db.Collection(coll).Indexes().List(t.Context())
				if err != nil {
					t.Fatalf("list indexes of %s: %v", coll, err)
				}
				var got []bson.M
				if err := cur.All(t.Context(), &got); err != nil {
					t.Fatal(err)
				}
				byName := map[string]bson.M{}
				for _, ix := range got {
					byName[fmt.Sprint(ix["name"])] = ix
				}
				for _, m := range models {
					name := *m.Options.Name
					ix, ok := byName[name]
					if !ok {
						t.Fatalf("%s: index %q missing; have %v", coll, name, byName)
					}
					wantUnique := m.Options.Unique != nil && *m.Options.Unique
					if gotUnique, _ := ix["unique"].(bool); gotUnique != wantUnique {
						t.Fatalf("%s.%s: unique = %v, want %v", coll, name, gotUnique, wantUnique)
					}
					keys, _ := ix["key"].(bson.M)
					if len(keys) != len(m.Keys.(bson.D)) {
						t.Fatalf("%s.%s: keys %v, want %v", coll, name, keys, m.Keys)
					}
				}
				if len(got) != len(models)+1 { // + _id
					t.Fatalf("%s: %d indexes, want %d: %v", coll, len(got), len(models)+1, byName)
				}
			}
		}
		check(st)
		// Opening an existing database again is fine and changes nothing.
		st2 := open(t, url)
		defer st2.Close()
		check(st2)
	})

	t.Run("DefaultDatabase", func(t *testing.T) {
		st := open(t, strings.TrimSuffix(server, "/"))
		defer st.Close()
		if st.Database() != DefaultDatabase {
			t.Fatalf("database = %q, want %q", st.Database(), DefaultDatabase)
		}
	})

	t.Run("ResultRoundTrips", func(t *testing.T) {
		st := open(t, freshDB(t, server))
		defer st.Close()
		res := storetest.Result("alpine:3.20", "sha256:abcd")
		if err := st.CreateScan(t.Context(), &store.Scan{ID: "s1", Tenant: "acme", Target: "alpine:3.20"}); err != nil {
			t.Fatal(err)
		}
		if err := st.CompleteScan(t.Context(), "acme", "s1", res); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetScan(t.Context(), "acme", "s1")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(res)
		have, _ := json.Marshal(got.Result)
		if !bytes.Equal(want, have) {
			t.Fatalf("result changed in the store:\n got %s\nwant %s", have, want)
		}
	})

	t.Run("LargeRequest", func(t *testing.T) {
		// An uploaded SBOM bigger than MongoDB's 16 MiB document limit.
		st := open(t, freshDB(t, server))
		defer st.Close()
		var b bytes.Buffer
		b.WriteString(`{"components":[`)
		for i := 0; b.Len() < 20<<20; i++ {
			fmt.Fprintf(&b, `{"type":"library","name":"pkg-%d","version":"1.%d.0","purl":"pkg:npm/pkg-%d@1.%d.0"},`, i, i%97, i, i%97)
		}
		b.WriteString(`{}]}`)
		if err := st.CreateScan(t.Context(), &store.Scan{ID: "big", Tenant: "acme", Target: "sbom:", Request: b.Bytes()}); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetScan(t.Context(), "acme", "big")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Request, b.Bytes()) {
			t.Fatalf("request of %d bytes came back as %d bytes", b.Len(), len(got.Request))
		}
	})

	t.Run("RepairsInterruptedCompletion", func(t *testing.T) {
		url := freshDB(t, server)
		st := open(t, url)
		defer st.Close()
		for i, id := range []string{"old", "new"} {
			if err := st.CreateScan(t.Context(), &store.Scan{ID: id, Tenant: "acme", Target: "app:1",
				CreatedAt: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CompleteScan(t.Context(), "acme", "old", storetest.Result("app:1", "sha256:01")); err != nil {
			t.Fatal(err)
		}
		// A crash right after the claim of "new": result stored, findings
		// and latest pointer not yet.
		res, err := encodeResult(storetest.Result("app:1", "sha256:02"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.scans.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: "new"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: store.StateDone}, {Key: "result", Value: res},
				{Key: "digest", Value: "sha256:02"}, {Key: "unindexed", Value: true}}}}); err != nil {
			t.Fatal(err)
		}
		rows, _, err := st.Findings(t.Context(), store.FindingFilter{Tenant: "acme"})
		if err != nil || len(rows) != 3 || rows[0].ScanID != "old" {
			t.Fatalf("before repair: %v, %v", rows, err)
		}
		st2 := open(t, url) // Open finishes it.
		defer st2.Close()
		rows, _, err = st2.Findings(t.Context(), store.FindingFilter{Tenant: "acme"})
		if err != nil || len(rows) != 3 {
			t.Fatalf("after repair: %v, %v", rows, err)
		}
		for _, r := range rows {
			if r.ScanID != "new" || r.Digest != "sha256:02" {
				t.Fatalf("after repair, row %+v: want scan new, digest sha256:02", r)
			}
		}
		if n, err := st2.scans.CountDocuments(t.Context(), bson.D{{Key: "unindexed", Value: true}}); err != nil || n != 0 {
			t.Fatalf("%d scans still marked unindexed, %v", n, err)
		}
	})
}

func TestOpenFailsFast(t *testing.T) {
	const pass = "s3cr3t-pa55"
	t.Run("BadURL", func(t *testing.T) {
		for _, url := range []string{
			"mongodb://alice:" + pass + "@127.0.0.1:notaport/db",
			"mongodb://alice:" + pass + "@127.0.0.1:27017/db?connectTimeoutMS=banana",
			"mongo://alice:" + pass + "@127.0.0.1/db",
		} {
			start := time.Now()
			_, err := Open(t.Context(), url)
			if err == nil {
				t.Fatalf("Open(%s): no error", Redact(url))
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Open(%s) took %s to reject a bad URL", Redact(url), d)
			}
			if strings.Contains(err.Error(), pass) || !strings.Contains(err.Error(), "alice:xxxxx@127.0.0.1") {
				t.Fatalf("error %q: want the URL without its password", err)
			}
		}
	})
	unreachable := fmt.Sprintf("mongodb://alice:%s@127.0.0.1:%d/stella", pass, testsvc.FreePort(t))
	check := func(t *testing.T, err error, took time.Duration) {
		t.Helper()
		if err == nil {
			t.Fatal("Open of an unreachable server: no error")
		}
		if took > 3*time.Second {
			t.Fatalf("Open of an unreachable server took %s", took)
		}
		if msg := err.Error(); strings.Contains(msg, pass) || !strings.Contains(msg, Redact(unreachable)) {
			t.Fatalf("error %q: want the URL %s without its password", msg, Redact(unreachable))
		}
	}
	t.Run("ConnectTimeout", func(t *testing.T) {
		defer func(d time.Duration) { connectTimeout = d }(connectTimeout)
		connectTimeout = 300 * time.Millisecond
		start := time.Now()
		_, err := Open(context.Background(), unreachable)
		check(t, err, time.Since(start))
	})
	t.Run("ContextDeadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Open(ctx, unreachable)
		check(t, err, time.Since(start))
		if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "server selection") {
			t.Fatalf("error %q: want a timeout", err)
		}
	})
	t.Run("URLTimeout", func(t *testing.T) {
		start := time.Now()
		_, err := Open(context.Background(), unreachable+"?serverSelectionTimeoutMS=300")
		check(t, err, time.Since(start))
	})
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"mongodb://alice:pw@host:27017/db":            "mongodb://alice:xxxxx@host:27017/db",
		"mongodb://alice:p%40w@h1:1,h2:2/db?tls=true": "mongodb://alice:xxxxx@h1:1,h2:2/db?tls=true",
		"mongodb+srv://u:pw@cluster.example.com":      "mongodb+srv://u:xxxxx@cluster.example.com",
		"mongodb://alice@host/db":                     "mongodb://alice@host/db",
		"mongodb://host/db?authSource=a@b":            "mongodb://host/db?authSource=a@b",
		"mongodb://host":                              "mongodb://host",
		"not a url":                                   "not a url",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedact: Redact never panics, and never returns the password of a URL
// with user info.
func FuzzRedact(f *testing.F) {
	f.Add("alice", "pw", "host:27017/db?x=y")
	f.Add("", "", "")
	f.Add("a:b", "c@d", "h/e@f")
	f.Fuzz(func(t *testing.T, user, pass, rest string) {
		Redact(user + pass + rest)
		if pass == "" || strings.ContainsAny(user+pass, ":@/?%") || strings.Contains(rest, "@") || strings.Contains(rest, pass) ||
			strings.Contains(user, pass) || strings.Contains("mongodb://xxxxx", pass) {
			return
		}
		u := "mongodb://" + user + ":" + pass + "@" + rest
		if strings.Contains(Redact(u), pass) {
			t.Fatalf("Redact(%q) = %q keeps the password", u, Redact(u))
		}
		if err := scrub(errors.New("dial "+u+": refused, auth "+pass), u); strings.Contains(err.Error(), pass) {
			t.Fatalf("scrub kept the password: %q", err)
		}
	})
}

// Guard against the test list drifting from the collections Open uses.
func TestIndexesCoverCollections(t *testing.T) {
	var got []string
	for c := range Indexes {
		got = append(got, c)
	}
	slices.Sort(got)
	if want := []string{"findings", "latest", "scans", "tokens"}; !slices.Equal(got, want) {
		t.Fatalf("Indexes has collections %v, want %v", got, want)
	}
}

// FuzzDecodeBlob: a corrupt stored result or request is an error, never a
// panic; what compress writes, decompress reads back.
func FuzzDecodeBlob(f *testing.F) {
	good, _ := encodeResult(storetest.Result("alpine:3.20", "sha256:abcd"))
	f.Add(good)
	f.Add([]byte{0x1f, 0x8b, 0x08})
	f.Add([]byte(`{"target":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeResult(b)
		decompress(b)
		z, err := compress(b)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := decompress(z); err != nil || !bytes.Equal(back, b) {
			t.Fatalf("compress round trip of %d bytes: %d bytes, %v", len(b), len(back), err)
		}
	})
}
