// Package mongo is the store.Store on MongoDB (`stella serve --store
// mongodb://…`), through the official driver. It is tested against
// FerretDB v1.24.2, so it uses only what both servers implement: plain
// CRUD, unique indexes and single-document conditional updates; no
// multi-document transactions, aggregation pipelines or $lookup.
//
// Collections:
//
//   - scans: one document per scan, _id = scan id (unique across tenants).
//     The result and the request are stored as gzip-compressed JSON, so that
//     a result (with its SBOM) or an uploaded SBOM of up to tens of MB fits
//     in MongoDB's 16 MiB document limit, and so that the result round-trips
//     exactly as the SQLite store's JSON does.
//   - findings: one document per finding of a completed scan, _id = the
//     scan id, a slash and the finding's index (so indexing a result twice
//     stores it once), with ids = the finding's id and aliases.
//   - latest: per tenant and target, the newest completed scan (created
//     time, then id), advanced with an atomic "only if newer" update.
//     Findings lists the findings of the scans these point to.
//   - tokens: _id = token id, unique index on the hash.
//
// CompleteScan is exactly once without transactions: a conditional update
// (state != done) claims the scan and stores the result; the findings are
// then written with deterministic ids and the scan's "unindexed" mark is
// cleared. Any later completion, and Open, finish an indexing that a crash
// interrupted; writing the same findings again changes nothing.
package mongo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	mgo "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/x/mongo/driver/connstring"

	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// DefaultDatabase is used when the URL names no database.
const DefaultDatabase = "stella"

// connectTimeout bounds Open's first round trip (server selection, TCP
// and TLS connect, ping) unless the URL sets its own timeouts or ctx ends
// sooner. A variable so that tests can shorten it.
var connectTimeout = 10 * time.Second

// setupTimeout bounds creating the indexes and finishing interrupted
// completions in Open.
const setupTimeout = 2 * time.Minute

// maxBlob bounds a decompressed result or request read back from the
// database.
const maxBlob = 512 << 20

// repairBatch bounds how many interrupted completions Open finishes.
const repairBatch = 200

// Store is the MongoDB store. It is safe for concurrent use, also by
// several processes sharing one database.
type Store struct {
	client   *mgo.Client
	db       *mgo.Database
	scans    *mgo.Collection
	findings *mgo.Collection
	latest   *mgo.Collection
	tokens   *mgo.Collection
	url      string // redacted
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Pending = (*Store)(nil)
)

// Open connects to the server rawURL names (mongodb:// or mongodb+srv://),
// uses the database of its path (DefaultDatabase when none), and creates
// the indexes. It fails within a bounded time when the server is
// unreachable; errors name the URL without its password.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	red := Redact(rawURL)
	cs, err := connstring.ParseAndValidate(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mongo store %s: %w", red, scrub(err, rawURL))
	}
	dbName := cs.Database
	if dbName == "" {
		dbName = DefaultDatabase
	}
	opts := options.Client().
		SetConnectTimeout(connectTimeout).
		SetServerSelectionTimeout(connectTimeout).
		SetAppName("stella").
		ApplyURI(rawURL) // the URL's own settings win over the defaults above
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("mongo store %s: %w", red, scrub(err, rawURL))
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	client, err := mgo.Connect(cctx, opts)
	if err != nil {
		return nil, fmt.Errorf("mongo store %s: connect: %w", red, scrub(err, rawURL))
	}
	if err := client.Ping(cctx, readpref.Primary()); err != nil {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		client.Disconnect(dctx)
		dcancel()
		return nil, fmt.Errorf("mongo store %s: connect: %w", red, scrub(err, rawURL))
	}
	db := client.Database(dbName)
	s := &Store{
		client:   client,
		db:       db,
		scans:    db.Collection("scans"),
		findings: db.Collection("findings"),
		latest:   db.Collection("latest"),
		tokens:   db.Collection("tokens"),
		url:      red,
	}
	sctx, scancel := context.WithTimeout(ctx, setupTimeout)
	defer scancel()
	if err := s.createIndexes(sctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.repair(sctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Indexes lists, per collection, the indexes Open creates.
var Indexes = map[string][]mgo.IndexModel{
	"scans": {
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "created", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("tenant_created")},
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "digest", Value: 1}, {Key: "created", Value: -1}}, Options: options.Index().SetName("tenant_digest")},
		{Keys: bson.D{{Key: "state", Value: 1}, {Key: "created", Value: 1}}, Options: options.Index().SetName("state_created")},
		{Keys: bson.D{{Key: "unindexed", Value: 1}}, Options: options.Index().SetName("unindexed")},
	},
	"findings": {
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "scan", Value: 1}}, Options: options.Index().SetName("tenant_scan")},
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "ids", Value: 1}}, Options: options.Index().SetName("tenant_ids")},
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "package", Value: 1}}, Options: options.Index().SetName("tenant_package")},
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "severity", Value: 1}}, Options: options.Index().SetName("tenant_severity")},
	},
	"latest": {
		{Keys: bson.D{{Key: "tenant", Value: 1}}, Options: options.Index().SetName("tenant")},
	},
	"tokens": {
		{Keys: bson.D{{Key: "hash", Value: 1}}, Options: options.Index().SetName("hash").SetUnique(true)},
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "created", Value: 1}}, Options: options.Index().SetName("tenant_created")},
	},
}

// createIndexes creates the indexes of Indexes that are missing, by name.
// (FerretDB v1.24.2 drops the connection, after a "slice bounds out of
// range" panic in its handler, on a createIndexes of several indexes that
// exist already; so existing ones are not sent again.)
func (s *Store) createIndexes(ctx context.Context) error {
	for _, coll := range []string{"scans", "findings", "latest", "tokens"} {
		iv := s.db.Collection(coll).Indexes()
		have, err := indexNames(ctx, iv)
		if err != nil {
			return fmt.Errorf("mongo store %s: list indexes of %s.%s: %w", s.url, s.db.Name(), coll, err)
		}
		var missing []mgo.IndexModel
		for _, m := range Indexes[coll] {
			if !have[*m.Options.Name] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := iv.CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("mongo store %s: create indexes of %s.%s: %w", s.url, s.db.Name(), coll, err)
		}
	}
	return nil
}

// indexNames lists the names of a collection's indexes (none when the
// collection does not exist yet).
func indexNames(ctx context.Context, iv mgo.IndexView) (map[string]bool, error) {
	cur, err := iv.List(ctx)
	var ce mgo.CommandError
	if errors.As(err, &ce) && ce.Code == 26 { // NamespaceNotFound
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(specs))
	for _, sp := range specs {
		names[sp.Name] = true
	}
	return names, nil
}

// Database is the name of the database the store uses.
func (s *Store) Database() string { return s.db.Name() }

// Redact returns rawURL with its password replaced by "xxxxx".
func Redact(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return rawURL
	}
	rest := rawURL[i+3:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return rawURL
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return rawURL
	}
	return rawURL[:i+3] + user + ":xxxxx" + rest[at:]
}

// scrubbed is an error whose message has the URL's password removed; it
// still unwraps to the driver's error (context deadline, …).
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub removes rawURL, and the password in it, from err's message.
func scrub(err error, rawURL string) error {
	msg := err.Error()
	red := Redact(rawURL)
	if red == rawURL {
		return err
	}
	msg = strings.ReplaceAll(msg, rawURL, red)
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if end := strings.IndexAny(rest, "/?"); end >= 0 {
			rest = rest[:end]
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pass, ok := strings.Cut(rest[:at], ":"); ok && pass != "" {
				msg = strings.ReplaceAll(msg, pass, "xxxxx")
				if dec, err := url.PathUnescape(pass); err == nil && dec != "" {
					msg = strings.ReplaceAll(msg, dec, "xxxxx")
				}
			}
		}
	}
	return &scrubbed{msg: msg, err: err}
}

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// scanDoc is a scan as stored.
type scanDoc struct {
	ID        string `bson:"_id"`
	Tenant    string `bson:"tenant"`
	Target    string `bson:"target"`
	State     string `bson:"state"`
	Error     string `bson:"error"`
	Digest    string `bson:"digest"`
	Verdict   string `bson:"verdict"`
	Created   int64  `bson:"created"`
	Updated   int64  `bson:"updated"`
	Attempts  int    `bson:"attempts"`
	Result    []byte `bson:"result,omitempty"`  // gzip JSON of report.Result
	Request   []byte `bson:"request,omitempty"` // gzip of the request bytes
	Unindexed bool   `bson:"unindexed,omitempty"`
}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decompress(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxBlob+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxBlob {
		return nil, fmt.Errorf("larger than %d bytes decompressed", maxBlob)
	}
	return out, nil
}

func encodeResult(r *report.Result) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return compress(b)
}

func decodeResult(b []byte) (*report.Result, error) {
	raw, err := decompress(b)
	if err != nil {
		return nil, err
	}
	r := new(report.Result)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (d *scanDoc) scan() (*store.Scan, error) {
	sc := &store.Scan{
		ID: d.ID, Tenant: d.Tenant, Target: d.Target, State: d.State, Error: d.Error,
		Digest: d.Digest, Verdict: d.Verdict, Attempts: d.Attempts,
		CreatedAt: fromNanos(d.Created), UpdatedAt: fromNanos(d.Updated),
	}
	if len(d.Request) > 0 {
		req, err := decompress(d.Request)
		if err != nil {
			return nil, fmt.Errorf("decode request of scan %q: %w", d.ID, err)
		}
		sc.Request = req
	}
	if len(d.Result) > 0 {
		r, err := decodeResult(d.Result)
		if err != nil {
			return nil, fmt.Errorf("decode result of scan %q: %w", d.ID, err)
		}
		sc.Result = r
	}
	return sc, nil
}

// CreateScan implements store.Store.
func (s *Store) CreateScan(ctx context.Context, sc *store.Scan) error {
	if sc.ID == "" || sc.Tenant == "" {
		return fmt.Errorf("mongo store: create scan %q of tenant %q: id and tenant are required", sc.ID, sc.Tenant)
	}
	now := time.Now().UTC()
	if sc.CreatedAt.IsZero() {
		sc.CreatedAt = now
	}
	if sc.UpdatedAt.IsZero() {
		sc.UpdatedAt = sc.CreatedAt
	}
	if sc.State == "" {
		sc.State = store.StateQueued
	}
	d := scanDoc{
		ID: sc.ID, Tenant: sc.Tenant, Target: sc.Target, State: sc.State, Error: sc.Error,
		Digest: sc.Digest, Verdict: sc.Verdict, Created: nanos(sc.CreatedAt), Updated: nanos(sc.UpdatedAt),
		Attempts: sc.Attempts,
	}
	var err error
	if sc.Result != nil {
		if d.Result, err = encodeResult(sc.Result); err != nil {
			return fmt.Errorf("mongo store: create scan %q: encode result: %w", sc.ID, err)
		}
	}
	if len(sc.Request) > 0 {
		if d.Request, err = compress(sc.Request); err != nil {
			return fmt.Errorf("mongo store: create scan %q: encode request: %w", sc.ID, err)
		}
	}
	_, err = s.scans.InsertOne(ctx, d)
	if mgo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo store: create scan %q of tenant %q: %w", sc.ID, sc.Tenant, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("mongo store: create scan %q of tenant %q: %w", sc.ID, sc.Tenant, err)
	}
	return nil
}

// UpdateScan implements store.Store. A done scan keeps its state, error,
// verdict and digest (they come from CompleteScan; a late worker cannot
// turn it back to running or blank them); only its attempts are updated.
func (s *Store) UpdateScan(ctx context.Context, sc *store.Scan) error {
	if sc.State == store.StateDone {
		return fmt.Errorf("mongo store: update scan %q: state done is set by CompleteScan only", sc.ID)
	}
	now := time.Now().UTC()
	r, err := s.scans.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: sc.ID}, {Key: "tenant", Value: sc.Tenant}, {Key: "state", Value: bson.D{{Key: "$ne", Value: store.StateDone}}}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: sc.State}, {Key: "error", Value: sc.Error}, {Key: "attempts", Value: sc.Attempts},
			{Key: "verdict", Value: sc.Verdict}, {Key: "digest", Value: sc.Digest}, {Key: "updated", Value: nanos(now)},
		}}})
	if err != nil {
		return fmt.Errorf("mongo store: update scan %q of tenant %q: %w", sc.ID, sc.Tenant, err)
	}
	if r.MatchedCount == 0 {
		// Done (or absent, or another tenant's).
		r, err = s.scans.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: sc.ID}, {Key: "tenant", Value: sc.Tenant}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "attempts", Value: sc.Attempts}, {Key: "updated", Value: nanos(now)}}}})
		if err != nil {
			return fmt.Errorf("mongo store: update scan %q of tenant %q: %w", sc.ID, sc.Tenant, err)
		}
		if r.MatchedCount == 0 {
			return fmt.Errorf("mongo store: update scan %q of tenant %q: %w", sc.ID, sc.Tenant, store.ErrNotFound)
		}
	}
	sc.UpdatedAt = now
	return nil
}

func verdictOf(r *report.Result) string {
	switch r.Policy.Decision {
	case "pass", "warn", "fail":
		return r.Policy.Decision
	}
	return ""
}

// CompleteScan implements store.Store.
func (s *Store) CompleteScan(ctx context.Context, tenant, id string, r *report.Result) error {
	if r == nil {
		return fmt.Errorf("mongo store: complete scan %q: nil result", id)
	}
	var cur scanDoc
	err := s.scans.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "tenant", Value: tenant}},
		options.FindOne().SetProjection(bson.D{{Key: "result", Value: 0}, {Key: "request", Value: 0}})).Decode(&cur)
	if errors.Is(err, mgo.ErrNoDocuments) {
		return fmt.Errorf("mongo store: complete scan %q of tenant %q: %w", id, tenant, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("mongo store: complete scan %q of tenant %q: %w", id, tenant, err)
	}
	if cur.State == store.StateDone {
		if cur.Unindexed {
			return s.finishIndexing(ctx, tenant, id)
		}
		return nil // already completed: exactly once
	}
	res, err := encodeResult(r)
	if err != nil {
		return fmt.Errorf("mongo store: complete scan %q: encode result: %w", id, err)
	}
	digest := cur.Digest
	if r.Image != nil && r.Image.Digest != "" {
		digest = r.Image.Digest
	}
	now := time.Now().UTC()
	// The claim: only one completion finds the scan not done.
	u, err := s.scans.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "tenant", Value: tenant}, {Key: "state", Value: bson.D{{Key: "$ne", Value: store.StateDone}}}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: store.StateDone}, {Key: "error", Value: ""}, {Key: "result", Value: res},
			{Key: "digest", Value: digest}, {Key: "verdict", Value: verdictOf(r)}, {Key: "updated", Value: nanos(now)},
			{Key: "unindexed", Value: true},
		}}})
	if err != nil {
		return fmt.Errorf("mongo store: complete scan %q of tenant %q: store result (%d bytes compressed): %w", id, tenant, len(res), err)
	}
	if u.MatchedCount == 0 {
		// Another completion won the claim; make sure its findings are
		// stored before answering, as the winner does.
		return s.finishIndexing(ctx, tenant, id)
	}
	cur.Digest = digest
	return s.index(ctx, &cur, r, now)
}

// finishIndexing stores the findings of a done scan whose indexing is not
// known to be finished, from its stored result.
func (s *Store) finishIndexing(ctx context.Context, tenant, id string) error {
	var d scanDoc
	err := s.scans.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "tenant", Value: tenant}}).Decode(&d)
	if err != nil {
		return fmt.Errorf("mongo store: complete scan %q of tenant %q: reload: %w", id, tenant, err)
	}
	if !d.Unindexed {
		return nil
	}
	r, err := decodeResult(d.Result)
	if err != nil {
		return fmt.Errorf("mongo store: complete scan %q of tenant %q: decode stored result: %w", id, tenant, err)
	}
	return s.index(ctx, &d, r, fromNanos(d.Updated))
}

// findingDoc is one finding of a completed scan.
type findingDoc struct {
	ID        string   `bson:"_id"` // scan id + "/" + index
	Tenant    string   `bson:"tenant"`
	Scan      string   `bson:"scan"`
	Target    string   `bson:"target"`
	Digest    string   `bson:"digest"`
	VulnID    string   `bson:"vid"`
	IDs       []string `bson:"ids"` // VulnID and aliases
	Aliases   []string `bson:"aliases"`
	Package   string   `bson:"package"`
	Version   string   `bson:"version"`
	Ecosystem string   `bson:"ecosystem"`
	Severity  string   `bson:"severity"`
	Fixed     []string `bson:"fixed"`
	KEV       bool     `bson:"kev"`
	Scanned   int64    `bson:"scanned"`
}

// latestDoc points at the newest completed scan of a tenant's target.
type latestDoc struct {
	ID      string `bson:"_id"` // latestKey(tenant, target)
	Tenant  string `bson:"tenant"`
	Target  string `bson:"target"`
	Scan    string `bson:"scan"`
	Created int64  `bson:"created"`
}

// latestKey is unambiguous for any tenant and target.
func latestKey(tenant, target string) string {
	return strconv.Itoa(len(tenant)) + ":" + tenant + target
}

// maxFindings keeps finding ids of a fixed width.
const maxFindings = 99_999_999

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// index stores the findings of done scan d (result r), advances the
// target's latest pointer, and clears the scan's unindexed mark. Every step
// is idempotent.
func (s *Store) index(ctx context.Context, d *scanDoc, r *report.Result, completed time.Time) error {
	if len(r.Findings) > maxFindings {
		return fmt.Errorf("mongo store: complete scan %q: %d findings, at most %d", d.ID, len(r.Findings), maxFindings)
	}
	scanned := r.Provenance.ScannedAt
	if scanned.IsZero() {
		scanned = completed
	}
	docs := make([]any, 0, len(r.Findings))
	for i := range r.Findings {
		f := &r.Findings[i]
		sev := f.Severity.Label
		if sev == "" {
			sev = "UNKNOWN"
		}
		version := f.InstalledVersion
		if version == "" {
			version = f.Package.Version
		}
		var ids []string
		for _, v := range append([]string{f.ID}, f.Aliases...) {
			if v != "" {
				ids = append(ids, v)
			}
		}
		docs = append(docs, findingDoc{
			ID: fmt.Sprintf("%s/%08d", d.ID, i), Tenant: d.Tenant, Scan: d.ID, Target: d.Target, Digest: d.Digest,
			VulnID: f.ID, IDs: nonNil(ids), Aliases: nonNil(f.Aliases), Package: f.Package.Name, Version: version,
			Ecosystem: f.Package.Ecosystem, Severity: sev, Fixed: nonNil(f.FixedVersions), KEV: f.KEV != nil,
			Scanned: nanos(scanned),
		})
	}
	const batch = 1000
	for start := 0; start < len(docs); start += batch {
		end := min(start+batch, len(docs))
		_, err := s.findings.InsertMany(ctx, docs[start:end], options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return fmt.Errorf("mongo store: complete scan %q: store findings: %w", d.ID, err)
		}
	}
	if err := s.advanceLatest(ctx, d); err != nil {
		return err
	}
	if _, err := s.scans.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "tenant", Value: d.Tenant}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "unindexed", Value: ""}}}}); err != nil {
		return fmt.Errorf("mongo store: complete scan %q: mark indexed: %w", d.ID, err)
	}
	return nil
}

// onlyDuplicates reports whether every error of an unordered bulk insert
// is a duplicate key (the findings were stored already).
func onlyDuplicates(err error) bool {
	var bw mgo.BulkWriteException
	if errors.As(err, &bw) {
		if bw.WriteConcernError != nil || len(bw.WriteErrors) == 0 {
			return false
		}
		for _, we := range bw.WriteErrors {
			if we.Code != 11000 {
				return false
			}
		}
		return true
	}
	return mgo.IsDuplicateKeyError(err)
}

// advanceLatest makes d the target's latest scan unless a newer one
// (created later, or at the same time with a greater id) is there: an
// insert, and when the pointer exists a conditional update, each atomic.
func (s *Store) advanceLatest(ctx context.Context, d *scanDoc) error {
	key := latestKey(d.Tenant, d.Target)
	_, err := s.latest.InsertOne(ctx, latestDoc{ID: key, Tenant: d.Tenant, Target: d.Target, Scan: d.ID, Created: d.Created})
	if err == nil {
		return nil
	}
	if !mgo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo store: complete scan %q: latest scan of %q: %w", d.ID, d.Target, err)
	}
	_, err = s.latest.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: key}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "created", Value: bson.D{{Key: "$lt", Value: d.Created}}}},
			bson.D{{Key: "created", Value: d.Created}, {Key: "scan", Value: bson.D{{Key: "$lt", Value: d.ID}}}},
		}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "scan", Value: d.ID}, {Key: "created", Value: d.Created}}}})
	if err != nil {
		return fmt.Errorf("mongo store: complete scan %q: latest scan of %q: %w", d.ID, d.Target, err)
	}
	return nil
}

// repair finishes completions that a crash interrupted between storing a
// result and storing its findings.
func (s *Store) repair(ctx context.Context) error {
	cur, err := s.scans.Find(ctx, bson.D{{Key: "unindexed", Value: true}},
		options.Find().SetLimit(repairBatch).SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "tenant", Value: 1}}))
	if err != nil {
		return fmt.Errorf("mongo store %s: find interrupted completions: %w", s.url, err)
	}
	var ds []scanDoc
	if err := cur.All(ctx, &ds); err != nil {
		return fmt.Errorf("mongo store %s: find interrupted completions: %w", s.url, err)
	}
	for _, d := range ds {
		slog.Warn("mongo store: finishing an interrupted completion", "scan", d.ID, "tenant", d.Tenant)
		if err := s.finishIndexing(ctx, d.Tenant, d.ID); err != nil {
			return err
		}
	}
	return nil
}

// GetScan implements store.Store.
func (s *Store) GetScan(ctx context.Context, tenant, id string) (*store.Scan, error) {
	var d scanDoc
	err := s.scans.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "tenant", Value: tenant}}).Decode(&d)
	if errors.Is(err, mgo.ErrNoDocuments) {
		return nil, fmt.Errorf("mongo store: scan %q of tenant %q: %w", id, tenant, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("mongo store: scan %q of tenant %q: %w", id, tenant, err)
	}
	sc, err := d.scan()
	if err != nil {
		return nil, fmt.Errorf("mongo store: %w", err)
	}
	return sc, nil
}

func (s *Store) findScans(ctx context.Context, filter bson.D, opts *options.FindOptions) ([]store.Scan, error) {
	cur, err := s.scans.Find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var out []store.Scan
	for cur.Next(ctx) {
		var d scanDoc
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		sc, err := d.scan()
		if err != nil {
			return nil, err
		}
		out = append(out, *sc)
	}
	return out, cur.Err()
}

// ListScans implements store.Store: newest first, paged by an opaque
// cursor (created time and id of the last scan of the page).
func (s *Store) ListScans(ctx context.Context, f store.ScanFilter) ([]store.Scan, string, error) {
	q := bson.D{{Key: "tenant", Value: f.Tenant}}
	if f.State != "" {
		q = append(q, bson.E{Key: "state", Value: f.State})
	}
	if f.Target != "" {
		q = append(q, bson.E{Key: "target", Value: bson.D{{Key: "$regex", Value: regexp.QuoteMeta(f.Target)}}})
	}
	if f.Digest != "" {
		q = append(q, bson.E{Key: "digest", Value: f.Digest})
	}
	if f.Verdict != "" {
		q = append(q, bson.E{Key: "verdict", Value: f.Verdict})
	}
	if !f.Since.IsZero() {
		q = append(q, bson.E{Key: "created", Value: bson.D{{Key: "$gte", Value: nanos(f.Since)}}})
	}
	if f.Cursor != "" {
		p, err := store.DecodeCursor(f.Cursor, 2)
		if err != nil {
			return nil, "", fmt.Errorf("mongo store: list scans of tenant %q: %w", f.Tenant, err)
		}
		at, err := strconv.ParseInt(p[0], 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("mongo store: list scans of tenant %q: bad cursor %q", f.Tenant, f.Cursor)
		}
		q = append(q, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "created", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "created", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: p[1]}}}},
		}})
	}
	n := store.Limit(f.Limit)
	out, err := s.findScans(ctx, q, options.Find().
		SetSort(bson.D{{Key: "created", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(n+1)))
	if err != nil {
		return nil, "", fmt.Errorf("mongo store: list scans of tenant %q: %w", f.Tenant, err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = store.EncodeCursor(strconv.FormatInt(nanos(last.CreatedAt), 10), last.ID)
	}
	return out, next, nil
}

// Findings implements store.Store: the findings of each target's latest
// completed scan, in id order, paged by cursor.
func (s *Store) Findings(ctx context.Context, f store.FindingFilter) ([]store.FindingRow, string, error) {
	after := ""
	if f.Cursor != "" {
		p, err := store.DecodeCursor(f.Cursor, 1)
		if err != nil || p[0] == "" {
			return nil, "", fmt.Errorf("mongo store: findings of tenant %q: bad cursor %q", f.Tenant, f.Cursor)
		}
		after = p[0]
	}
	// The tenant's latest scans.
	lc, err := s.latest.Find(ctx, bson.D{{Key: "tenant", Value: f.Tenant}},
		options.Find().SetProjection(bson.D{{Key: "scan", Value: 1}}))
	if err != nil {
		return nil, "", fmt.Errorf("mongo store: findings of tenant %q: latest scans: %w", f.Tenant, err)
	}
	var ls []latestDoc
	if err := lc.All(ctx, &ls); err != nil {
		return nil, "", fmt.Errorf("mongo store: findings of tenant %q: latest scans: %w", f.Tenant, err)
	}
	if len(ls) == 0 {
		return nil, "", nil
	}
	scanIDs := make(bson.A, len(ls))
	for i, l := range ls {
		scanIDs[i] = l.Scan
	}
	q := bson.D{{Key: "tenant", Value: f.Tenant}, {Key: "scan", Value: bson.D{{Key: "$in", Value: scanIDs}}}}
	if f.CVE != "" {
		q = append(q, bson.E{Key: "ids", Value: f.CVE})
	}
	if f.Package != "" {
		q = append(q, bson.E{Key: "package", Value: f.Package})
	}
	if f.Severity != "" {
		q = append(q, bson.E{Key: "severity", Value: strings.ToUpper(f.Severity)})
	}
	if after != "" {
		q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	n := store.Limit(f.Limit)
	cur, err := s.findings.Find(ctx, q, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(n+1)))
	if err != nil {
		return nil, "", fmt.Errorf("mongo store: findings of tenant %q: %w", f.Tenant, err)
	}
	var docs []findingDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, "", fmt.Errorf("mongo store: findings of tenant %q: %w", f.Tenant, err)
	}
	next := ""
	if len(docs) > n {
		docs = docs[:n]
		next = store.EncodeCursor(docs[n-1].ID)
	}
	out := make([]store.FindingRow, 0, len(docs))
	for _, d := range docs {
		r := store.FindingRow{
			ScanID: d.Scan, Target: d.Target, Digest: d.Digest, ID: d.VulnID, Aliases: d.Aliases,
			Package: d.Package, Version: d.Version, Ecosystem: d.Ecosystem, Severity: d.Severity,
			Fixed: d.Fixed, KEV: d.KEV, ScannedAt: fromNanos(d.Scanned),
		}
		if len(r.Aliases) == 0 {
			r.Aliases = nil
		}
		if len(r.Fixed) == 0 {
			r.Fixed = nil
		}
		out = append(out, r)
	}
	return out, next, nil
}

// ScansByDigest implements store.Store.
func (s *Store) ScansByDigest(ctx context.Context, tenant, digest string) ([]store.Scan, error) {
	out, err := s.findScans(ctx, bson.D{{Key: "tenant", Value: tenant}, {Key: "digest", Value: digest}},
		options.Find().SetSort(bson.D{{Key: "created", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, fmt.Errorf("mongo store: scans of digest %q, tenant %q: %w", digest, tenant, err)
	}
	return out, nil
}

// PendingScans implements store.Pending: queued and running scans of every
// tenant, oldest first.
func (s *Store) PendingScans(ctx context.Context, n int) ([]store.Scan, error) {
	opts := options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}})
	if n > 0 {
		opts.SetLimit(int64(n))
	}
	out, err := s.findScans(ctx, bson.D{{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{store.StateQueued, store.StateRunning}}}}}, opts)
	if err != nil {
		return nil, fmt.Errorf("mongo store: pending scans: %w", err)
	}
	return out, nil
}

// tokenDoc is a token as stored.
type tokenDoc struct {
	ID      string `bson:"_id"`
	Tenant  string `bson:"tenant"`
	Subject string `bson:"subject"`
	Role    string `bson:"role"`
	Name    string `bson:"name"`
	Hash    string `bson:"hash"`
	Created int64  `bson:"created"`
	Expires *int64 `bson:"expires"`
	Revoked *int64 `bson:"revoked"`
}

func optNanos(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := nanos(*t)
	return &n
}

func optTime(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromNanos(*n)
	return &t
}

func (d *tokenDoc) token() store.Token {
	return store.Token{
		ID: d.ID, Tenant: d.Tenant, Subject: d.Subject, Role: d.Role, Name: d.Name, Hash: d.Hash,
		CreatedAt: fromNanos(d.Created), ExpiresAt: optTime(d.Expires), RevokedAt: optTime(d.Revoked),
	}
}

// PutToken implements store.Store: it inserts a token, or updates one of
// the same id and tenant. Another tenant's id, or a hash already used by
// another token, is store.ErrConflict.
func (s *Store) PutToken(ctx context.Context, t *store.Token) error {
	if t.ID == "" || t.Tenant == "" || t.Hash == "" {
		return fmt.Errorf("mongo store: put token %q of tenant %q: id, tenant and hash are required", t.ID, t.Tenant)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	conflict := fmt.Errorf("mongo store: put token %q of tenant %q: %w", t.ID, t.Tenant, store.ErrConflict)
	update := func() (bool, error) {
		r, err := s.tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: t.ID}, {Key: "tenant", Value: t.Tenant}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "subject", Value: t.Subject}, {Key: "role", Value: t.Role}, {Key: "name", Value: t.Name},
				{Key: "hash", Value: t.Hash}, {Key: "expires", Value: optNanos(t.ExpiresAt)}, {Key: "revoked", Value: optNanos(t.RevokedAt)},
			}}})
		if mgo.IsDuplicateKeyError(err) {
			return false, conflict
		}
		if err != nil {
			return false, fmt.Errorf("mongo store: put token %q of tenant %q: %w", t.ID, t.Tenant, err)
		}
		return r.MatchedCount > 0, nil
	}
	if ok, err := update(); ok || err != nil {
		return err
	}
	_, err := s.tokens.InsertOne(ctx, tokenDoc{
		ID: t.ID, Tenant: t.Tenant, Subject: t.Subject, Role: t.Role, Name: t.Name, Hash: t.Hash,
		Created: nanos(t.CreatedAt), Expires: optNanos(t.ExpiresAt), Revoked: optNanos(t.RevokedAt),
	})
	if mgo.IsDuplicateKeyError(err) {
		// Another tenant's id, a used hash, or the same token inserted
		// concurrently: only the last is an update.
		if ok, err := update(); ok || err != nil {
			return err
		}
		return conflict
	}
	if err != nil {
		return fmt.Errorf("mongo store: put token %q of tenant %q: %w", t.ID, t.Tenant, err)
	}
	return nil
}

// TokenByHash implements store.Store. A revoked or expired token is
// returned with RevokedAt / ExpiresAt set; the caller refuses it.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*store.Token, error) {
	var d tokenDoc
	err := s.tokens.FindOne(ctx, bson.D{{Key: "hash", Value: hash}}).Decode(&d)
	if errors.Is(err, mgo.ErrNoDocuments) {
		return nil, fmt.Errorf("mongo store: token by hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("mongo store: token by hash: %w", err)
	}
	t := d.token()
	return &t, nil
}

// ListTokens implements store.Store, oldest first.
func (s *Store) ListTokens(ctx context.Context, tenant string) ([]store.Token, error) {
	cur, err := s.tokens.Find(ctx, bson.D{{Key: "tenant", Value: tenant}},
		options.Find().SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongo store: tokens of tenant %q: %w", tenant, err)
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("mongo store: tokens of tenant %q: %w", tenant, err)
	}
	var out []store.Token
	for i := range docs {
		out = append(out, docs[i].token())
	}
	return out, nil
}

// RevokeToken implements store.Store. Revoking a revoked token keeps the
// first revocation time.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, at time.Time) error {
	filter := bson.D{{Key: "_id", Value: id}, {Key: "tenant", Value: tenant}}
	r, err := s.tokens.UpdateOne(ctx, append(filter, bson.E{Key: "revoked", Value: nil}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: nanos(at)}}}})
	if err != nil {
		return fmt.Errorf("mongo store: revoke token %q of tenant %q: %w", id, tenant, err)
	}
	if r.MatchedCount > 0 {
		return nil
	}
	n, err := s.tokens.CountDocuments(ctx, filter)
	if err != nil {
		return fmt.Errorf("mongo store: revoke token %q of tenant %q: %w", id, tenant, err)
	}
	if n == 0 {
		return fmt.Errorf("mongo store: revoke token %q of tenant %q: %w", id, tenant, store.ErrNotFound)
	}
	return nil // revoked already
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("mongo store %s: ping: %w", s.url, err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo store %s: close: %w", s.url, err)
	}
	return nil
}
