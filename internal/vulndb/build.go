package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/stella-scan/stella/internal/feed"
)

// builder writes one new DB file beside the target. Nothing is visible to
// readers until commit renames it over the target.
type builder struct {
	target string
	tmp    string
	db     *sql.DB
	tx     *sql.Tx
	st     map[string]*sql.Stmt
	puts   int
}

// openBuild prepares the temporary file: empty with the schema (full, or
// no usable old DB) or a consistent copy of the old DB (VACUUM INTO).
func openBuild(ctx context.Context, target string, full bool) (*builder, error) {
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("db directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".build-*")
	if err != nil {
		return nil, fmt.Errorf("db directory %s: %w", dir, err)
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp) // VACUUM INTO wants to create it
	b := &builder{target: target, tmp: tmp, st: map[string]*sql.Stmt{}}
	copied := false
	if !full {
		if _, err := os.Stat(target); err == nil {
			if err := copyDB(ctx, target, tmp); err != nil {
				return nil, err
			}
			copied = true
		}
	}
	b.db, err = sql.Open("sqlite", "file:"+tmp+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)")
	if err != nil {
		b.abort()
		return nil, err
	}
	b.db.SetMaxOpenConns(1)
	if !copied {
		if _, err := b.db.ExecContext(ctx, schemaSQL); err != nil {
			b.abort()
			return nil, fmt.Errorf("create schema: %w", err)
		}
		if _, err := b.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('schema_version', ?), ('created_at', ?)`,
			strconv.Itoa(SchemaVersion), time.Now().UTC().Format(time.RFC3339)); err != nil {
			b.abort()
			return nil, err
		}
	}
	if b.tx, err = b.db.BeginTx(ctx, nil); err != nil {
		b.abort()
		return nil, err
	}
	return b, nil
}

// copyDB makes a consistent copy of an existing DB; a DB of another
// schema version is not copied (the caller then builds from scratch).
func copyDB(ctx context.Context, from, to string) error {
	src, err := sql.Open("sqlite", "file:"+from+"?mode=ro")
	if err != nil {
		return err
	}
	defer src.Close()
	var v string
	if err := src.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema_version'`).Scan(&v); err != nil {
		return fmt.Errorf("existing DB %s is unreadable (%v): run `stella db sync --full` to rebuild it", from, err)
	}
	if v != strconv.Itoa(SchemaVersion) {
		return fmt.Errorf("existing DB %s has schema %s, this stella writes %d: run `stella db sync --full`", from, v, SchemaVersion)
	}
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, to); err != nil {
		return fmt.Errorf("copy %s for an incremental sync: %w", from, err)
	}
	return nil
}

func (b *builder) abort() {
	if b.tx != nil {
		b.tx.Rollback()
	}
	if b.db != nil {
		b.db.Close()
	}
	os.Remove(b.tmp)
	os.Remove(b.tmp + "-journal")
}

func (b *builder) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := b.st[q]; ok {
		return s, nil
	}
	s, err := b.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", q, err)
	}
	b.st[q] = s
	return s, nil
}

func (b *builder) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := b.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func tstr(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// put stores one record: enrichment (KEV, EPSS) in its tables, anything
// else as a source record replacing an older one of the same source and id
// (a record older than the stored one is ignored).
func (b *builder) put(ctx context.Context, r *feed.Record) error {
	b.puts++
	if r.EPSS != nil && len(r.Affected) == 0 {
		_, err := b.exec(ctx, `INSERT OR REPLACE INTO epss(cve, score, percentile, date) VALUES (?,?,?,?)`,
			r.ID, r.EPSS.Score, r.EPSS.Percentile, r.EPSS.Date)
		return err
	}
	if r.KEV != nil && len(r.Affected) == 0 {
		k := r.KEV
		_, err := b.exec(ctx, `INSERT OR REPLACE INTO kev(cve, date_added, due_date, ransomware, vendor, product, name, doc_url, doc_digest, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			r.ID, k.DateAdded, k.DueDate, k.Ransomware, k.Vendor, k.Product, r.Summary, r.DocURL, r.DocDigest, tstr(r.FetchedAt))
		return err
	}
	var (
		rid int64
		old sql.NullString
	)
	s, err := b.stmt(ctx, `SELECT rid, modified FROM record WHERE source=? AND id=?`)
	if err != nil {
		return err
	}
	err = s.QueryRowContext(ctx, r.Source, r.ID).Scan(&rid, &old)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if exists && old.Valid && !r.Modified.IsZero() {
		if ot, err := time.Parse(time.RFC3339Nano, old.String); err == nil && r.Modified.Before(ot) {
			return nil // a stale copy (older snapshot, duplicate in the mirror)
		}
	}
	body := *r
	body.Affected, body.Severity, body.CPEs = nil, nil, nil
	aliases := r.Aliases
	if aliases == nil {
		aliases = []string{}
	}
	args := []any{jsonText(aliases), tstr(r.Published), tstr(r.Modified), r.Withdrawn, recordKind(r),
		r.DocURL, r.DocDigest, tstr(r.FetchedAt), jsonText(body)}
	if exists {
		for _, q := range []string{`DELETE FROM affected WHERE rid=?`, `DELETE FROM severity WHERE rid=?`, `DELETE FROM cpe WHERE rid=?`} {
			if _, err := b.exec(ctx, q, rid); err != nil {
				return err
			}
		}
		if _, err := b.exec(ctx, `UPDATE record SET aliases=?, published=?, modified=?, withdrawn=?, kind=?, doc_url=?, doc_digest=?, fetched_at=?, body=? WHERE rid=?`,
			append(args, rid)...); err != nil {
			return err
		}
	} else {
		res, err := b.exec(ctx, `INSERT INTO record(aliases, published, modified, withdrawn, kind, doc_url, doc_digest, fetched_at, body, source, id) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			append(args, r.Source, r.ID)...)
		if err != nil {
			return err
		}
		if rid, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	for _, a := range r.Affected {
		var ranges, versions any
		if len(a.Ranges) > 0 {
			ranges = jsonText(a.Ranges)
		}
		if len(a.Versions) > 0 {
			versions = jsonText(a.Versions)
		}
		if _, err := b.exec(ctx, `INSERT INTO affected(rid, ecosystem, package, name_key, purl, ranges, versions, distro, release, fixed, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			rid, a.Ecosystem, a.Package, NormalizeName(a.Ecosystem, a.Package), a.PURL, ranges, versions, a.Distro, a.Release, a.FixedVersion, a.State); err != nil {
			return err
		}
	}
	for _, sv := range r.Severity {
		if _, err := b.exec(ctx, `INSERT INTO severity(rid, source, type, vector, score, label) VALUES (?,?,?,?,?,?)`,
			rid, sv.Source, sv.Type, sv.Vector, sv.Score, sv.Label); err != nil {
			return err
		}
	}
	for _, m := range r.CPEs {
		vendor, product := cpeVendorProduct(m.Criteria)
		if _, err := b.exec(ctx, `INSERT INTO cpe(rid, config, node, operator, negate, config_operator, vulnerable, criteria, vendor, product, start_incl, start_excl, end_incl, end_excl) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			rid, m.Config, m.Node, m.Operator, m.Negate, m.ConfigOperator, m.Vulnerable, m.Criteria, vendor, product,
			m.VersionStartIncluding, m.VersionStartExcluding, m.VersionEndIncluding, m.VersionEndExcluding); err != nil {
			return err
		}
	}
	return nil
}

// sourceState is the stored sync state of one source.
type sourceState struct {
	LastSync   time.Time
	Validators map[string][2]string
}

func (b *builder) state(ctx context.Context, source string) (sourceState, error) {
	var (
		last, val sql.NullString
		st        sourceState
	)
	err := b.tx.QueryRowContext(ctx, `SELECT last_sync, validators FROM source_state WHERE source=?`, source).Scan(&last, &val)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if last.Valid {
		st.LastSync, _ = time.Parse(time.RFC3339Nano, last.String)
	}
	if val.Valid {
		_ = json.Unmarshal([]byte(val.String), &st.Validators)
	}
	return st, nil
}

func (b *builder) saveState(ctx context.Context, source string, started time.Time, records, problems int, v *feed.Validators, origin string) error {
	var val any
	if v != nil {
		val = jsonText(v.Map())
	}
	var lastMod sql.NullString
	_ = b.tx.QueryRowContext(ctx, `SELECT max(modified) FROM record WHERE source=?`, source).Scan(&lastMod)
	// records: what the DB now holds for the source, not what this run fetched.
	if err := b.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM record WHERE source = ?1) +
		CASE ?1 WHEN 'kev' THEN (SELECT count(*) FROM kev) WHEN 'epss' THEN (SELECT count(*) FROM epss) ELSE 0 END`, source).Scan(&records); err != nil {
		return err
	}
	_, err := b.tx.ExecContext(ctx, `INSERT INTO source_state(source, last_sync, last_modified, records, problems, validators, origin) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(source) DO UPDATE SET last_sync=excluded.last_sync, last_modified=excluded.last_modified, records=excluded.records,
		problems=excluded.problems, validators=excluded.validators, origin=excluded.origin`,
		source, tstr(started), lastMod, records, problems, val, origin)
	return err
}

// commit links advisories, stamps the DB, and renames it over the target.
func (b *builder) commit(ctx context.Context) error {
	if err := link(ctx, b.tx); err != nil {
		b.abort()
		return fmt.Errorf("link advisories: %w", err)
	}
	if _, err := b.tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(key, value) VALUES ('built_at', ?)`, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		b.abort()
		return err
	}
	for _, s := range b.st {
		s.Close()
	}
	if err := b.tx.Commit(); err != nil {
		b.tx = nil
		b.abort()
		return fmt.Errorf("commit %s: %w", b.tmp, err)
	}
	b.tx = nil
	if _, err := b.db.ExecContext(ctx, `PRAGMA optimize`); err != nil {
		b.abort()
		return err
	}
	if err := b.db.Close(); err != nil {
		b.db = nil
		b.abort()
		return err
	}
	b.db = nil
	if err := ctx.Err(); err != nil { // interrupted: the old DB stays
		b.abort()
		return err
	}
	if err := replaceFile(b.tmp, b.target); err != nil {
		b.abort()
		return err
	}
	return nil
}

// replaceFile fsyncs tmp, renames it over target and fsyncs the directory:
// readers see the old file or the new one, never a mix.
func replaceFile(tmp, target string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	f.Close()
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("replace %s: %w", target, err)
	}
	if d, err := os.Open(filepath.Dir(target)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// NormalizeName is the lookup key of a package name in an ecosystem:
// PyPI names per PEP 503 (lower case, runs of - _ . as one -), Composer and
// NuGet lower case (case-insensitive registries); others as spelled.
func NormalizeName(ecosystem, name string) string {
	switch ecosystem {
	case "pypi":
		return pep503.ReplaceAllString(strings.ToLower(name), "-")
	case "composer", "nuget":
		return strings.ToLower(name)
	}
	return name
}

// cpeVendorProduct splits cpe:2.3:part:vendor:product:… (backslash
// escapes respected).
func cpeVendorProduct(cpe string) (vendor, product string) {
	var fields []string
	var cur strings.Builder
	esc := false
fields:
	for _, c := range cpe {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case c == '\\':
			cur.WriteRune(c)
			esc = true
		case c == ':':
			fields = append(fields, cur.String())
			cur.Reset()
			if len(fields) > 5 {
				break fields
			}
		default:
			cur.WriteRune(c)
		}
	}
	fields = append(fields, cur.String())
	if len(fields) >= 5 && fields[0] == "cpe" {
		return fields[3], fields[4]
	}
	return "", ""
}
