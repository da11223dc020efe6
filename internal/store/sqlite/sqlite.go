// Package sqlite is the embedded store.Store: one SQLite database (pure Go,
// modernc.org/sqlite) in the server's data directory, in WAL mode so that
// readers never wait for the writer, with a busy timeout so that several
// processes (gateway and workers) can share it.
//
// Scans keep their result as JSON; findings are also denormalised into
// their own table (one row per finding, plus one row per id and alias in
// finding_ids) so that /api/findings?cve=&package=&severity= is an index
// look-up. Every query is scoped by tenant.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// FileName is the database file inside the data directory.
const FileName = "stella.db"

// migrations are applied in order; schema_version holds how many ran.
var migrations = []string{
	`CREATE TABLE scans (
		id         TEXT PRIMARY KEY,
		tenant     TEXT NOT NULL,
		target     TEXT NOT NULL,
		state      TEXT NOT NULL,
		error      TEXT NOT NULL DEFAULT '',
		digest     TEXT NOT NULL DEFAULT '',
		verdict    TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		attempts   INTEGER NOT NULL DEFAULT 0,
		result     BLOB,
		request    BLOB
	);
	CREATE INDEX scans_tenant_created ON scans(tenant, created_at DESC, id DESC);
	CREATE INDEX scans_tenant_digest ON scans(tenant, digest, created_at DESC);
	CREATE TABLE findings (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant     TEXT NOT NULL,
		scan_id    TEXT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
		target     TEXT NOT NULL,
		digest     TEXT NOT NULL DEFAULT '',
		vuln_id    TEXT NOT NULL,
		aliases    TEXT NOT NULL DEFAULT '[]',
		package    TEXT NOT NULL,
		version    TEXT NOT NULL,
		ecosystem  TEXT NOT NULL,
		severity   TEXT NOT NULL,
		fixed      TEXT NOT NULL DEFAULT '[]',
		kev        INTEGER NOT NULL DEFAULT 0,
		scanned_at INTEGER NOT NULL,
		latest     INTEGER NOT NULL DEFAULT 1
	);
	CREATE INDEX findings_scan ON findings(scan_id);
	CREATE INDEX findings_tenant_target ON findings(tenant, target, latest);
	CREATE INDEX findings_tenant_package ON findings(tenant, package, latest, seq);
	CREATE INDEX findings_tenant_severity ON findings(tenant, severity, latest, seq);
	CREATE INDEX findings_tenant_latest ON findings(tenant, latest, seq);
	CREATE TABLE finding_ids (
		tenant  TEXT NOT NULL,
		vuln_id TEXT NOT NULL,
		seq     INTEGER NOT NULL REFERENCES findings(seq) ON DELETE CASCADE,
		PRIMARY KEY (tenant, vuln_id, seq)
	) WITHOUT ROWID;
	CREATE TABLE tokens (
		id         TEXT PRIMARY KEY,
		tenant     TEXT NOT NULL,
		subject    TEXT NOT NULL,
		role       TEXT NOT NULL,
		name       TEXT NOT NULL,
		hash       TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL,
		expires_at INTEGER,
		revoked_at INTEGER
	);
	CREATE INDEX tokens_tenant ON tokens(tenant, created_at);`,
	// 2: tenants and users (store.Accounts, accounts.go).
	accountsSchema,
}

// Store is the SQLite store. It is safe for concurrent use, also by
// several processes opening the same directory.
type Store struct {
	db   *sql.DB
	path string
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in dir and migrates it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store: create data dir %q: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %q: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store %q: begin migration: %w", s.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite store %q: create schema_version: %w", s.path, err)
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version) VALUES (0)`); err != nil {
			return fmt.Errorf("sqlite store %q: init schema_version: %w", s.path, err)
		}
	case err != nil:
		return fmt.Errorf("sqlite store %q: read schema_version: %w", s.path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("sqlite store %q: schema version %d is newer than this binary (%d)", s.path, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlite store %q: migration %d: %w", s.path, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return fmt.Errorf("sqlite store %q: set schema_version: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store %q: commit migration: %w", s.path, err)
	}
	return nil
}

// SchemaVersion returns the applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite store %q: read schema_version: %w", s.path, err)
	}
	return v, nil
}

func isConstraint(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 19 // SQLITE_CONSTRAINT
}

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// CreateScan implements store.Store.
func (s *Store) CreateScan(ctx context.Context, sc *store.Scan) error {
	if sc.ID == "" || sc.Tenant == "" {
		return fmt.Errorf("sqlite store: create scan %q of tenant %q: id and tenant are required", sc.ID, sc.Tenant)
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
	var res []byte
	if sc.Result != nil {
		var err error
		if res, err = json.Marshal(sc.Result); err != nil {
			return fmt.Errorf("sqlite store: create scan %q: encode result: %w", sc.ID, err)
		}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO scans
		(id, tenant, target, state, error, digest, verdict, created_at, updated_at, attempts, result, request)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sc.ID, sc.Tenant, sc.Target, sc.State, sc.Error, sc.Digest, sc.Verdict,
		nanos(sc.CreatedAt), nanos(sc.UpdatedAt), sc.Attempts, res, sc.Request)
	if isConstraint(err) {
		return fmt.Errorf("sqlite store: create scan %q of tenant %q: %w", sc.ID, sc.Tenant, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: create scan %q of tenant %q: %w", sc.ID, sc.Tenant, err)
	}
	return nil
}

// UpdateScan implements store.Store. A done scan keeps its state (a late
// worker cannot turn it back to running); the done state itself is only
// reached through CompleteScan.
func (s *Store) UpdateScan(ctx context.Context, sc *store.Scan) error {
	if sc.State == store.StateDone {
		return fmt.Errorf("sqlite store: update scan %q: state done is set by CompleteScan only", sc.ID)
	}
	now := time.Now().UTC()
	r, err := s.db.ExecContext(ctx, `UPDATE scans SET
		state = CASE WHEN state = 'done' THEN state ELSE ? END,
		error = CASE WHEN state = 'done' THEN error ELSE ? END,
		attempts = ?,
		verdict = CASE WHEN state = 'done' THEN verdict ELSE ? END,
		digest = CASE WHEN state = 'done' THEN digest ELSE ? END,
		updated_at = ?
		WHERE tenant = ? AND id = ?`,
		sc.State, sc.Error, sc.Attempts, sc.Verdict, sc.Digest, nanos(now), sc.Tenant, sc.ID)
	if err != nil {
		return fmt.Errorf("sqlite store: update scan %q of tenant %q: %w", sc.ID, sc.Tenant, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite store: update scan %q of tenant %q: %w", sc.ID, sc.Tenant, store.ErrNotFound)
	}
	sc.UpdatedAt = now
	return nil
}

// CompleteScan implements store.Store: in one transaction (taken with
// BEGIN IMMEDIATE, so two completions serialise) it checks the state,
// stores the result and its findings, and marks the scan done.
func (s *Store) CompleteScan(ctx context.Context, tenant, id string, r *report.Result) error {
	if r == nil {
		return fmt.Errorf("sqlite store: complete scan %q: nil result", id)
	}
	res, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: encode result: %w", id, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: begin: %w", id, err)
	}
	defer tx.Rollback()
	var state, target, digest string
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT state, target, digest, created_at FROM scans WHERE tenant = ? AND id = ?`,
		tenant, id).Scan(&state, &target, &digest, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite store: complete scan %q of tenant %q: %w", id, tenant, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: complete scan %q of tenant %q: %w", id, tenant, err)
	}
	if state == store.StateDone {
		return nil // already completed: exactly once
	}
	if r.Image != nil && r.Image.Digest != "" {
		digest = r.Image.Digest
	}
	verdict := ""
	switch r.Policy.Decision {
	case "pass", "warn", "fail":
		verdict = r.Policy.Decision
	}
	now := time.Now().UTC()
	scannedAt := r.Provenance.ScannedAt
	if scannedAt.IsZero() {
		scannedAt = now
	}
	if _, err := tx.ExecContext(ctx, `UPDATE scans SET state = 'done', error = '', result = ?, digest = ?, verdict = ?, updated_at = ?
		WHERE tenant = ? AND id = ?`, res, digest, verdict, nanos(now), tenant, id); err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: update: %w", id, err)
	}
	// The findings of a target's newest completed scan are its latest.
	var newer int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM scans WHERE tenant = ? AND target = ? AND state = 'done' AND id != ?
		AND (created_at > ? OR (created_at = ? AND id > ?))`, tenant, target, id, created, created, id).Scan(&newer); err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: find newer scans: %w", id, err)
	}
	latest := 1
	if newer > 0 {
		latest = 0
	} else if _, err := tx.ExecContext(ctx, `UPDATE findings SET latest = 0 WHERE tenant = ? AND target = ? AND latest = 1`, tenant, target); err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: retire older findings: %w", id, err)
	}
	insF, err := tx.PrepareContext(ctx, `INSERT INTO findings
		(tenant, scan_id, target, digest, vuln_id, aliases, package, version, ecosystem, severity, fixed, kev, scanned_at, latest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: prepare: %w", id, err)
	}
	defer insF.Close()
	insID, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO finding_ids (tenant, vuln_id, seq) VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: prepare: %w", id, err)
	}
	defer insID.Close()
	for i := range r.Findings {
		f := &r.Findings[i]
		aliases, _ := json.Marshal(nonNil(f.Aliases))
		fixed, _ := json.Marshal(nonNil(f.FixedVersions))
		sev := f.Severity.Label
		if sev == "" {
			sev = "UNKNOWN"
		}
		version := f.InstalledVersion
		if version == "" {
			version = f.Package.Version
		}
		fr, err := insF.ExecContext(ctx, tenant, id, target, digest, f.ID, string(aliases), f.Package.Name, version,
			f.Package.Ecosystem, sev, string(fixed), f.KEV != nil, nanos(scannedAt), latest)
		if err != nil {
			return fmt.Errorf("sqlite store: complete scan %q: insert finding %s of %s: %w", id, f.ID, f.Package.Name, err)
		}
		seq, err := fr.LastInsertId()
		if err != nil {
			return fmt.Errorf("sqlite store: complete scan %q: finding id: %w", id, err)
		}
		for _, v := range append([]string{f.ID}, f.Aliases...) {
			if v == "" {
				continue
			}
			if _, err := insID.ExecContext(ctx, tenant, v, seq); err != nil {
				return fmt.Errorf("sqlite store: complete scan %q: index %s: %w", id, v, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: complete scan %q: commit: %w", id, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const scanCols = `id, tenant, target, state, error, digest, verdict, created_at, updated_at, attempts, result, request`

type rowScanner interface{ Scan(dest ...any) error }

func scanRow(r rowScanner) (*store.Scan, error) {
	var sc store.Scan
	var created, updated int64
	var res, req []byte
	if err := r.Scan(&sc.ID, &sc.Tenant, &sc.Target, &sc.State, &sc.Error, &sc.Digest, &sc.Verdict,
		&created, &updated, &sc.Attempts, &res, &req); err != nil {
		return nil, err
	}
	sc.CreatedAt, sc.UpdatedAt = fromNanos(created), fromNanos(updated)
	if len(req) > 0 {
		sc.Request = req
	}
	if len(res) > 0 {
		sc.Result = new(report.Result)
		if err := json.Unmarshal(res, sc.Result); err != nil {
			return nil, fmt.Errorf("decode result of scan %q: %w", sc.ID, err)
		}
	}
	return &sc, nil
}

// GetScan implements store.Store.
func (s *Store) GetScan(ctx context.Context, tenant, id string) (*store.Scan, error) {
	sc, err := scanRow(s.db.QueryRowContext(ctx, `SELECT `+scanCols+` FROM scans WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite store: scan %q of tenant %q: %w", id, tenant, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: scan %q of tenant %q: %w", id, tenant, err)
	}
	return sc, nil
}

// ListScans implements store.Store: newest first, paged by an opaque
// cursor (created time and id of the last scan of the page).
func (s *Store) ListScans(ctx context.Context, f store.ScanFilter) ([]store.Scan, string, error) {
	q := `SELECT ` + scanCols + ` FROM scans WHERE tenant = ?`
	args := []any{f.Tenant}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Target != "" {
		q += ` AND instr(target, ?) > 0`
		args = append(args, f.Target)
	}
	if f.Digest != "" {
		q += ` AND digest = ?`
		args = append(args, f.Digest)
	}
	if f.Verdict != "" {
		q += ` AND verdict = ?`
		args = append(args, f.Verdict)
	}
	if !f.Since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, nanos(f.Since))
	}
	if f.Cursor != "" {
		p, err := store.DecodeCursor(f.Cursor, 2)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite store: list scans of tenant %q: %w", f.Tenant, err)
		}
		at, err := strconv.ParseInt(p[0], 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite store: list scans of tenant %q: bad cursor %q", f.Tenant, f.Cursor)
		}
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, p[1])
	}
	n := store.Limit(f.Limit)
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, n+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite store: list scans of tenant %q: %w", f.Tenant, err)
	}
	defer rows.Close()
	var out []store.Scan
	for rows.Next() {
		sc, err := scanRow(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite store: list scans of tenant %q: %w", f.Tenant, err)
		}
		out = append(out, *sc)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite store: list scans of tenant %q: %w", f.Tenant, err)
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
// completed scan, in storage order, paged by cursor.
func (s *Store) Findings(ctx context.Context, f store.FindingFilter) ([]store.FindingRow, string, error) {
	q := `SELECT f.seq, f.scan_id, f.target, f.digest, f.vuln_id, f.aliases, f.package, f.version, f.ecosystem,
		f.severity, f.fixed, f.kev, f.scanned_at FROM findings f`
	var args []any
	if f.CVE != "" {
		q += ` JOIN finding_ids i ON i.seq = f.seq AND i.tenant = ? AND i.vuln_id = ?`
		args = append(args, f.Tenant, f.CVE)
	}
	q += ` WHERE f.tenant = ? AND f.latest = 1`
	args = append(args, f.Tenant)
	if f.Package != "" {
		q += ` AND f.package = ?`
		args = append(args, f.Package)
	}
	if f.Severity != "" {
		q += ` AND f.severity = ?`
		args = append(args, strings.ToUpper(f.Severity))
	}
	if f.Cursor != "" {
		p, err := store.DecodeCursor(f.Cursor, 1)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: %w", f.Tenant, err)
		}
		seq, err := strconv.ParseInt(p[0], 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: bad cursor %q", f.Tenant, f.Cursor)
		}
		q += ` AND f.seq > ?`
		args = append(args, seq)
	}
	n := store.Limit(f.Limit)
	q += ` ORDER BY f.seq LIMIT ?`
	args = append(args, n+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: %w", f.Tenant, err)
	}
	defer rows.Close()
	var out []store.FindingRow
	var seqs []int64
	for rows.Next() {
		var r store.FindingRow
		var seq, at int64
		var aliases, fixed string
		if err := rows.Scan(&seq, &r.ScanID, &r.Target, &r.Digest, &r.ID, &aliases, &r.Package, &r.Version,
			&r.Ecosystem, &r.Severity, &fixed, &r.KEV, &at); err != nil {
			return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: %w", f.Tenant, err)
		}
		r.ScannedAt = fromNanos(at)
		if err := json.Unmarshal([]byte(aliases), &r.Aliases); err != nil {
			return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: aliases of %s: %w", f.Tenant, r.ID, err)
		}
		if err := json.Unmarshal([]byte(fixed), &r.Fixed); err != nil {
			return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: fixed of %s: %w", f.Tenant, r.ID, err)
		}
		if len(r.Aliases) == 0 {
			r.Aliases = nil
		}
		if len(r.Fixed) == 0 {
			r.Fixed = nil
		}
		out = append(out, r)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite store: findings of tenant %q: %w", f.Tenant, err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = store.EncodeCursor(strconv.FormatInt(seqs[n-1], 10))
	}
	return out, next, nil
}

// ScansByDigest implements store.Store.
func (s *Store) ScansByDigest(ctx context.Context, tenant, digest string) ([]store.Scan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+scanCols+` FROM scans WHERE tenant = ? AND digest = ?
		ORDER BY created_at DESC, id DESC`, tenant, digest)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: scans of digest %q, tenant %q: %w", digest, tenant, err)
	}
	defer rows.Close()
	var out []store.Scan
	for rows.Next() {
		sc, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: scans of digest %q, tenant %q: %w", digest, tenant, err)
		}
		out = append(out, *sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: scans of digest %q, tenant %q: %w", digest, tenant, err)
	}
	return out, nil
}

func optNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nanos(*t)
}

// PutToken implements store.Store: it inserts a token, or updates one of
// the same id and tenant. Another tenant's id, or a hash already used by
// another token, is store.ErrConflict.
func (s *Store) PutToken(ctx context.Context, t *store.Token) error {
	if t.ID == "" || t.Tenant == "" || t.Hash == "" {
		return fmt.Errorf("sqlite store: put token %q of tenant %q: id, tenant and hash are required", t.ID, t.Tenant)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	r, err := s.db.ExecContext(ctx, `INSERT INTO tokens (id, tenant, subject, role, name, hash, created_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET subject = excluded.subject, role = excluded.role, name = excluded.name,
			hash = excluded.hash, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at
		WHERE tokens.tenant = excluded.tenant`,
		t.ID, t.Tenant, t.Subject, t.Role, t.Name, t.Hash, nanos(t.CreatedAt), optNanos(t.ExpiresAt), optNanos(t.RevokedAt))
	if isConstraint(err) {
		return fmt.Errorf("sqlite store: put token %q of tenant %q: %w", t.ID, t.Tenant, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite store: put token %q of tenant %q: %w", t.ID, t.Tenant, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite store: put token %q of tenant %q: %w", t.ID, t.Tenant, store.ErrConflict)
	}
	return nil
}

const tokenCols = `id, tenant, subject, role, name, hash, created_at, expires_at, revoked_at`

func tokenRow(r rowScanner) (*store.Token, error) {
	var t store.Token
	var created int64
	var exp, rev sql.NullInt64
	if err := r.Scan(&t.ID, &t.Tenant, &t.Subject, &t.Role, &t.Name, &t.Hash, &created, &exp, &rev); err != nil {
		return nil, err
	}
	t.CreatedAt = fromNanos(created)
	if exp.Valid {
		e := fromNanos(exp.Int64)
		t.ExpiresAt = &e
	}
	if rev.Valid {
		r := fromNanos(rev.Int64)
		t.RevokedAt = &r
	}
	return &t, nil
}

// TokenByHash implements store.Store. A revoked or expired token is
// returned with RevokedAt / ExpiresAt set; the caller refuses it.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*store.Token, error) {
	t, err := tokenRow(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite store: token by hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: token by hash: %w", err)
	}
	return t, nil
}

// ListTokens implements store.Store, oldest first.
func (s *Store) ListTokens(ctx context.Context, tenant string) ([]store.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE tenant = ? ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: tokens of tenant %q: %w", tenant, err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := tokenRow(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: tokens of tenant %q: %w", tenant, err)
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: tokens of tenant %q: %w", tenant, err)
	}
	return out, nil
}

// RevokeToken implements store.Store. Revoking a revoked token keeps the
// first revocation time.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, at time.Time) error {
	r, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE tenant = ? AND id = ?`,
		nanos(at), tenant, id)
	if err != nil {
		return fmt.Errorf("sqlite store: revoke token %q of tenant %q: %w", id, tenant, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite store: revoke token %q of tenant %q: %w", id, tenant, store.ErrNotFound)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite store %q: ping: %w", s.path, err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite store %q: close: %w", s.path, err)
	}
	return nil
}
