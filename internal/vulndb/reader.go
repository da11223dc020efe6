package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Reader is what the matcher needs from the DB.
type Reader interface {
	// Affected returns every record that names the package in an
	// ecosystem (purl type: npm, pypi, golang, maven, …; for distros deb,
	// apk, rpm with the source package name).
	Affected(ctx context.Context, ecosystem, name string) ([]AffectedRecord, error)
	// Distro returns the fixed versions and states one distro release
	// gives for a source package (release "" = every release).
	Distro(ctx context.Context, distro, release, srcPkg string) ([]AffectedRecord, error)
	// CPE returns the NVD CPE matches for a vendor and product.
	CPE(ctx context.Context, vendor, product string) ([]CPERecord, error)
	// Advisory returns one advisory by its id or any alias.
	Advisory(ctx context.Context, id string) (*Advisory, error)
}

// AffectedRecord is one source record's statement about one package,
// within one advisory.
type AffectedRecord struct {
	Advisory  string // CVE-… (or GHSA-…/other id when no CVE is known)
	RecordID  string // the source's id: GHSA-…, GO-…, DSA-…, CVE-… (NVD)
	Source    string // connector name
	Withdrawn bool

	Ecosystem string
	Package   string
	PURL      string
	Ranges    []feed.Range
	Versions  []string

	Distro       string
	Release      string
	FixedVersion string
	State        string

	// Severity chosen for this record's context (see severity.go).
	Severity Severity
	KEV      *feed.KEV
	EPSS     *feed.EPSS

	DocURL    string
	DocDigest string
}

// CPERecord is one CPE match of an NVD configuration.
type CPERecord struct {
	Advisory string
	feed.CPEMatch
	Severity Severity
}

// Advisory is one vulnerability with every source's record.
type Advisory struct {
	ID        string
	Aliases   []string
	Summary   string
	Published time.Time
	Modified  time.Time
	Withdrawn bool // every source withdrew or rejected it
	Severity  Severity
	CWEs      []string
	KEV       *feed.KEV
	EPSS      *feed.EPSS
	// Records: each source's record with provenance (DocURL, DocDigest,
	// FetchedAt), affected packages, severities and CPE matches.
	Records []feed.Record
}

// ErrNotFound is returned by Advisory for an unknown id.
var ErrNotFound = errors.New("advisory not found")

// DB is an open, read-only vulnerability database.
type DB struct {
	db   *sql.DB
	path string
	aff  *sql.Stmt
	dist *sql.Stmt
	dall *sql.Stmt
}

var _ Reader = (*DB)(nil)

// Open opens the DB read-only and checks its schema version. The file may
// be replaced by a sync while open; this handle keeps reading the old one.
func Open(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("vulnerability DB %s: %w (run `stella db sync` or `stella kit import`)", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	var v string
	if err := db.QueryRow(`SELECT value FROM meta WHERE key='schema_version'`).Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("vulnerability DB %s is not a Stella DB: %w", path, err)
	}
	if v != strconv.Itoa(SchemaVersion) {
		db.Close()
		return nil, fmt.Errorf("vulnerability DB %s has schema %s, this stella reads %d: run `stella db sync --full`", path, v, SchemaVersion)
	}
	d := &DB{db: db, path: path}
	const sel = `SELECT ra.advisory, r.id, r.source, r.withdrawn, a.ecosystem, a.package, coalesce(a.purl,''),
		coalesce(a.ranges,''), coalesce(a.versions,''), a.distro, a.release, a.fixed, a.state,
		coalesce(ra.severity,''), coalesce(ra.score,0), coalesce(ra.vector,''), coalesce(ra.severity_source,''),
		k.date_added, k.due_date, k.ransomware, k.vendor, k.product, e.score, e.percentile, e.date,
		coalesce(r.doc_url,''), coalesce(r.doc_digest,'')
		FROM affected a JOIN record r ON r.rid = a.rid JOIN record_advisory ra ON ra.rid = a.rid
		LEFT JOIN kev k ON k.cve = ra.advisory LEFT JOIN epss e ON e.cve = ra.advisory `
	if d.aff, err = db.Prepare(sel + `WHERE a.ecosystem = ? AND a.name_key = ? ORDER BY ra.advisory, r.source, r.id`); err != nil {
		db.Close()
		return nil, err
	}
	if d.dist, err = db.Prepare(sel + `WHERE a.distro = ? AND a.release = ? AND a.name_key = ? ORDER BY ra.advisory, r.source, r.id`); err != nil {
		db.Close()
		return nil, err
	}
	if d.dall, err = db.Prepare(sel + `WHERE a.distro = ? AND a.name_key = ? ORDER BY ra.advisory, r.source, r.id`); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the DB.
func (d *DB) Close() error { return d.db.Close() }

// Path is the file this DB was opened from.
func (d *DB) Path() string { return d.path }

// Affected implements Reader.
func (d *DB) Affected(ctx context.Context, ecosystem, name string) ([]AffectedRecord, error) {
	rows, err := d.aff.QueryContext(ctx, ecosystem, NormalizeName(ecosystem, name))
	if err != nil {
		return nil, fmt.Errorf("affected %s/%s: %w", ecosystem, name, err)
	}
	return scanAffected(rows)
}

// Distro implements Reader.
func (d *DB) Distro(ctx context.Context, distro, release, srcPkg string) ([]AffectedRecord, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if release == "" {
		rows, err = d.dall.QueryContext(ctx, distro, srcPkg)
	} else {
		rows, err = d.dist.QueryContext(ctx, distro, release, srcPkg)
	}
	if err != nil {
		return nil, fmt.Errorf("distro %s %s %s: %w", distro, release, srcPkg, err)
	}
	return scanAffected(rows)
}

func scanAffected(rows *sql.Rows) ([]AffectedRecord, error) {
	defer rows.Close()
	var out []AffectedRecord
	for rows.Next() {
		var (
			a                              AffectedRecord
			ranges, versions               string
			kAdded, kDue, kRans, kVen, kPr sql.NullString
			eScore, ePct                   sql.NullFloat64
			eDate                          sql.NullString
		)
		if err := rows.Scan(&a.Advisory, &a.RecordID, &a.Source, &a.Withdrawn, &a.Ecosystem, &a.Package, &a.PURL,
			&ranges, &versions, &a.Distro, &a.Release, &a.FixedVersion, &a.State,
			&a.Severity.Label, &a.Severity.Score, &a.Severity.Vector, &a.Severity.Source,
			&kAdded, &kDue, &kRans, &kVen, &kPr, &eScore, &ePct, &eDate, &a.DocURL, &a.DocDigest); err != nil {
			return nil, err
		}
		if ranges != "" {
			if err := json.Unmarshal([]byte(ranges), &a.Ranges); err != nil {
				return nil, fmt.Errorf("%s: ranges: %w", a.RecordID, err)
			}
		}
		if versions != "" {
			if err := json.Unmarshal([]byte(versions), &a.Versions); err != nil {
				return nil, fmt.Errorf("%s: versions: %w", a.RecordID, err)
			}
		}
		if kAdded.Valid {
			a.KEV = &feed.KEV{DateAdded: kAdded.String, DueDate: kDue.String, Ransomware: kRans.String, Vendor: kVen.String, Product: kPr.String}
		}
		if eScore.Valid {
			a.EPSS = &feed.EPSS{Score: eScore.Float64, Percentile: ePct.Float64, Date: eDate.String}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CPE implements Reader.
func (d *DB) CPE(ctx context.Context, vendor, product string) ([]CPERecord, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT ra.advisory, c.criteria, coalesce(c.start_incl,''), coalesce(c.start_excl,''), coalesce(c.end_incl,''), coalesce(c.end_excl,''),
		c.config, c.node, coalesce(c.operator,''), c.negate, c.vulnerable, coalesce(c.config_operator,''),
		coalesce(ra.severity,''), coalesce(ra.score,0), coalesce(ra.vector,''), coalesce(ra.severity_source,'')
		FROM cpe c JOIN record_advisory ra ON ra.rid = c.rid WHERE c.vendor = ? AND c.product = ? ORDER BY ra.advisory`, vendor, product)
	if err != nil {
		return nil, fmt.Errorf("cpe %s:%s: %w", vendor, product, err)
	}
	defer rows.Close()
	var out []CPERecord
	for rows.Next() {
		var c CPERecord
		if err := rows.Scan(&c.Advisory, &c.Criteria, &c.VersionStartIncluding, &c.VersionStartExcluding, &c.VersionEndIncluding, &c.VersionEndExcluding,
			&c.Config, &c.Node, &c.Operator, &c.Negate, &c.Vulnerable, &c.ConfigOperator,
			&c.Severity.Label, &c.Severity.Score, &c.Severity.Vector, &c.Severity.Source); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Advisory implements Reader. id may be the advisory id or any alias; an
// alias shared by several advisories (a DSA fixing several CVEs) resolves
// to the first in id order.
func (d *DB) Advisory(ctx context.Context, id string) (*Advisory, error) {
	var advID string
	err := d.db.QueryRowContext(ctx, `SELECT advisory FROM alias WHERE alias = ? ORDER BY advisory = ? DESC, advisory LIMIT 1`, id, id).Scan(&advID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	a := &Advisory{ID: advID}
	var pub, mod, cwes sql.NullString
	var label, vector, source sql.NullString
	if err := d.db.QueryRowContext(ctx, `SELECT coalesce(summary,''), published, modified, withdrawn, severity, coalesce(score,0), vector, severity_source, cwes FROM advisory WHERE id = ?`, advID).
		Scan(&a.Summary, &pub, &mod, &a.Withdrawn, &label, &a.Severity.Score, &vector, &source, &cwes); err != nil {
		return nil, fmt.Errorf("advisory %s: %w", advID, err)
	}
	a.Published, _ = time.Parse(time.RFC3339Nano, pub.String)
	a.Modified, _ = time.Parse(time.RFC3339Nano, mod.String)
	a.Severity.Label, a.Severity.Vector, a.Severity.Source = label.String, vector.String, source.String
	_ = json.Unmarshal([]byte(cwes.String), &a.CWEs)
	rows, err := d.db.QueryContext(ctx, `SELECT alias FROM alias WHERE advisory = ? AND alias != ? ORDER BY alias`, advID, advID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		a.Aliases = append(a.Aliases, s)
	}
	rows.Close()
	var k feed.KEV
	if err := d.db.QueryRowContext(ctx, `SELECT date_added, due_date, ransomware, vendor, product FROM kev WHERE cve = ?`, advID).
		Scan(&k.DateAdded, &k.DueDate, &k.Ransomware, &k.Vendor, &k.Product); err == nil {
		a.KEV = &k
	}
	var e feed.EPSS
	if err := d.db.QueryRowContext(ctx, `SELECT score, percentile, date FROM epss WHERE cve = ?`, advID).Scan(&e.Score, &e.Percentile, &e.Date); err == nil {
		a.EPSS = &e
	}
	if a.Records, err = d.records(ctx, advID); err != nil {
		return nil, err
	}
	return a, nil
}

// records loads every source record of an advisory, whole.
func (d *DB) records(ctx context.Context, advID string) ([]feed.Record, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT r.rid, r.body FROM record r JOIN record_advisory ra ON ra.rid = r.rid WHERE ra.advisory = ? ORDER BY r.source, r.id`, advID)
	if err != nil {
		return nil, err
	}
	var (
		recs []feed.Record
		rids []int64
	)
	for rows.Next() {
		var (
			rid  int64
			body string
			r    feed.Record
		)
		if err := rows.Scan(&rid, &body); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("record %d: %w", rid, err)
		}
		recs = append(recs, r)
		rids = append(rids, rid)
	}
	rows.Close()
	for i, rid := range rids {
		r := &recs[i]
		if err := d.each(ctx, `SELECT ecosystem, package, coalesce(purl,''), coalesce(ranges,''), coalesce(versions,''), distro, release, fixed, state FROM affected WHERE rid = ? ORDER BY rowid`, rid, func(s func(...any) error) error {
			var a feed.Affected
			var ranges, versions string
			if err := s(&a.Ecosystem, &a.Package, &a.PURL, &ranges, &versions, &a.Distro, &a.Release, &a.FixedVersion, &a.State); err != nil {
				return err
			}
			if ranges != "" {
				_ = json.Unmarshal([]byte(ranges), &a.Ranges)
			}
			if versions != "" {
				_ = json.Unmarshal([]byte(versions), &a.Versions)
			}
			r.Affected = append(r.Affected, a)
			return nil
		}); err != nil {
			return nil, err
		}
		if err := d.each(ctx, `SELECT coalesce(source,''), coalesce(type,''), coalesce(vector,''), coalesce(score,0), coalesce(label,'') FROM severity WHERE rid = ? ORDER BY rowid`, rid, func(s func(...any) error) error {
			var sv feed.Severity
			if err := s(&sv.Source, &sv.Type, &sv.Vector, &sv.Score, &sv.Label); err != nil {
				return err
			}
			r.Severity = append(r.Severity, sv)
			return nil
		}); err != nil {
			return nil, err
		}
		if err := d.each(ctx, `SELECT criteria, coalesce(start_incl,''), coalesce(start_excl,''), coalesce(end_incl,''), coalesce(end_excl,''), config, node, coalesce(operator,''), negate, vulnerable, coalesce(config_operator,'') FROM cpe WHERE rid = ? ORDER BY rowid`, rid, func(s func(...any) error) error {
			var m feed.CPEMatch
			if err := s(&m.Criteria, &m.VersionStartIncluding, &m.VersionStartExcluding, &m.VersionEndIncluding, &m.VersionEndExcluding, &m.Config, &m.Node, &m.Operator, &m.Negate, &m.Vulnerable, &m.ConfigOperator); err != nil {
				return err
			}
			r.CPEs = append(r.CPEs, m)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (d *DB) each(ctx context.Context, q string, arg any, fn func(scan func(...any) error) error) error {
	rows, err := d.db.QueryContext(ctx, q, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SourceStatus is one source's freshness.
type SourceStatus struct {
	Source       string
	LastSync     time.Time // start of the last successful sync
	LastModified time.Time // newest record modification stored
	Records      int
	Problems     int
	Origin       string
}

// Status describes the DB: schema, build time, counts, and each source.
type Status struct {
	Path          string
	SchemaVersion int
	BuiltAt       time.Time
	Advisories    int
	Records       int
	KEV           int
	EPSS          int
	Sources       []SourceStatus
}

// Status reads the DB's freshness.
func (d *DB) Status(ctx context.Context) (*Status, error) {
	s := &Status{Path: d.path, SchemaVersion: SchemaVersion}
	var built sql.NullString
	_ = d.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='built_at'`).Scan(&built)
	s.BuiltAt, _ = time.Parse(time.RFC3339Nano, built.String)
	for q, dst := range map[string]*int{
		`SELECT count(*) FROM advisory`: &s.Advisories, `SELECT count(*) FROM record`: &s.Records,
		`SELECT count(*) FROM kev`: &s.KEV, `SELECT count(*) FROM epss`: &s.EPSS,
	} {
		if err := d.db.QueryRowContext(ctx, q).Scan(dst); err != nil {
			return nil, err
		}
	}
	rows, err := d.db.QueryContext(ctx, `SELECT source, coalesce(last_sync,''), coalesce(last_modified,''), records, problems, coalesce(origin,'') FROM source_state ORDER BY source`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ss     SourceStatus
			ls, lm string
		)
		if err := rows.Scan(&ss.Source, &ls, &lm, &ss.Records, &ss.Problems, &ss.Origin); err != nil {
			return nil, err
		}
		ss.LastSync, _ = time.Parse(time.RFC3339Nano, ls)
		ss.LastModified, _ = time.Parse(time.RFC3339Nano, lm)
		s.Sources = append(s.Sources, ss)
	}
	return s, rows.Err()
}
