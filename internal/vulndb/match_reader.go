package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/stella-scan/stella/internal/feed"
)

// This file holds the reader methods the matcher needs beyond Reader
// (added by the matcher's author; see internal/match).

// HasRelease reports whether any source record speaks about the distro
// release (release "" = any release of the distro). The matcher uses it to
// decide whether a distro source covers an OS package before it falls back
// to NVD CPE matching.
func (d *DB) HasRelease(ctx context.Context, distro, release string) (bool, error) {
	var (
		n   int
		err error
	)
	if release == "" {
		err = d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM affected WHERE distro = ? LIMIT 1)`, distro).Scan(&n)
	} else {
		err = d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM affected WHERE distro = ? AND release = ? LIMIT 1)`, distro, release).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("distro %s %s: %w", distro, release, err)
	}
	return n > 0, nil
}

// PackageNames lists every (ecosystem, name) pair of ecosystem records and
// every (distro, release, source package) of distro records, for
// benchmarks that want to match every package the DB knows.
func (d *DB) PackageNames(ctx context.Context) (eco [][2]string, distro [][3]string, err error) {
	rows, err := d.db.QueryContext(ctx, `SELECT DISTINCT ecosystem, package, distro, release FROM affected ORDER BY 1, 2, 3, 4`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e, p, ds, r string
		if err := rows.Scan(&e, &p, &ds, &r); err != nil {
			return nil, nil, err
		}
		if ds != "" {
			distro = append(distro, [3]string{ds, r, p})
		} else {
			eco = append(eco, [2]string{e, p})
		}
	}
	return eco, distro, rows.Err()
}

// Enrichment is what a finding shows about its vulnerability beyond the
// matched record: every source's ids, scores and the advisory-level facts.
type Enrichment struct {
	ID       string
	Summary  string
	Severity Severity // chosen without a package in view
	CWEs     []string
	Aliases  []string // record ids and their aliases, sorted, without ID
	Scores   []SourceScore
	KEV      *feed.KEV
	EPSS     *feed.EPSS
}

// SourceScore is one CVSS vector a source record gave.
type SourceScore struct {
	Source string // connector
	Scorer string // who scored it (nvd@nist.gov, ghsa, …)
	Type   string
	Vector string
	Score  float64
}

// Enricher answers Enrichment with statements prepared once; every query
// goes through an index (unlike Advisory, which reads whole records).
type Enricher struct {
	adv, recs, sev, kev, epss *sql.Stmt
}

// NewEnricher prepares the enrichment statements.
func (d *DB) NewEnricher(ctx context.Context) (*Enricher, error) {
	e := &Enricher{}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&e.adv, `SELECT coalesce(summary,''), coalesce(severity,''), coalesce(score,0), coalesce(vector,''), coalesce(severity_source,''), coalesce(cwes,'') FROM advisory WHERE id = ?`},
		{&e.recs, `SELECT r.id, r.aliases, (SELECT count(*) FROM record_advisory x WHERE x.rid = r.rid) FROM record_advisory ra JOIN record r ON r.rid = ra.rid WHERE ra.advisory = ?`},
		{&e.sev, `SELECT r.source, coalesce(s.source,''), coalesce(s.type,''), s.vector, coalesce(s.score,0) FROM record_advisory ra JOIN severity s ON s.rid = ra.rid JOIN record r ON r.rid = ra.rid WHERE ra.advisory = ? AND coalesce(s.vector,'') != '' ORDER BY r.source, r.id, s.rowid`},
		{&e.kev, `SELECT coalesce(date_added,''), coalesce(due_date,''), coalesce(ransomware,''), coalesce(vendor,''), coalesce(product,'') FROM kev WHERE cve = ?`},
		{&e.epss, `SELECT coalesce(score,0), coalesce(percentile,0), coalesce(date,'') FROM epss WHERE cve = ?`},
	} {
		st, err := d.db.PrepareContext(ctx, p.q)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("vulnerability DB %s: prepare enrichment: %w", d.path, err)
		}
		*p.dst = st
	}
	return e, nil
}

// Close releases the statements.
func (e *Enricher) Close() error {
	for _, s := range []*sql.Stmt{e.adv, e.recs, e.sev, e.kev, e.epss} {
		if s != nil {
			s.Close()
		}
	}
	return nil
}

// Enrichment returns what the DB knows about advisory id (the advisory's
// own id, as AffectedRecord.Advisory gives it). ErrNotFound when unknown.
func (e *Enricher) Enrichment(ctx context.Context, id string) (*Enrichment, error) {
	out := &Enrichment{ID: id}
	var cwes string
	err := e.adv.QueryRowContext(ctx, id).Scan(&out.Summary, &out.Severity.Label, &out.Severity.Score, &out.Severity.Vector, &out.Severity.Source, &cwes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("advisory %s: %w", id, err)
	}
	if cwes != "" {
		_ = json.Unmarshal([]byte(cwes), &out.CWEs)
	}
	seen := map[string]bool{id: true}
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out.Aliases = append(out.Aliases, a)
		}
	}
	rows, err := e.recs.QueryContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("advisory %s: records: %w", id, err)
	}
	for rows.Next() {
		var rid, aliases string
		var links int
		if err := rows.Scan(&rid, &aliases, &links); err != nil {
			rows.Close()
			return nil, err
		}
		add(rid)
		if links > 1 {
			continue // a notice fixing several vulnerabilities: its ids are not aliases of this one
		}
		var as []string
		_ = json.Unmarshal([]byte(aliases), &as)
		for _, a := range as {
			add(a)
		}
	}
	rows.Close()
	sort.Strings(out.Aliases)
	rows, err = e.sev.QueryContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("advisory %s: severities: %w", id, err)
	}
	for rows.Next() {
		var s SourceScore
		if err := rows.Scan(&s.Source, &s.Scorer, &s.Type, &s.Vector, &s.Score); err != nil {
			rows.Close()
			return nil, err
		}
		out.Scores = append(out.Scores, s)
	}
	rows.Close()
	var k feed.KEV
	if err := e.kev.QueryRowContext(ctx, id).Scan(&k.DateAdded, &k.DueDate, &k.Ransomware, &k.Vendor, &k.Product); err == nil {
		out.KEV = &k
	}
	var ep feed.EPSS
	if err := e.epss.QueryRowContext(ctx, id).Scan(&ep.Score, &ep.Percentile, &ep.Date); err == nil {
		out.EPSS = &ep
	}
	return out, nil
}

// affectedSelect repeats the columns Open prepares (scanAffected reads
// them in this order).
const affectedSelect = `SELECT ra.advisory, r.id, r.source, r.withdrawn, a.ecosystem, a.package, coalesce(a.purl,''),
		coalesce(a.ranges,''), coalesce(a.versions,''), a.distro, a.release, a.fixed, a.state,
		coalesce(ra.severity,''), coalesce(ra.score,0), coalesce(ra.vector,''), coalesce(ra.severity_source,''),
		k.date_added, k.due_date, k.ransomware, k.vendor, k.product, e.score, e.percentile, e.date,
		coalesce(r.doc_url,''), coalesce(r.doc_digest,'')
		FROM affected a JOIN record r ON r.rid = a.rid JOIN record_advisory ra ON ra.rid = a.rid
		LEFT JOIN kev k ON k.cve = ra.advisory LEFT JOIN epss e ON e.cve = ra.advisory `

// batchSize bounds the ids of one IN list (SQLite allows 32766 variables).
const batchSize = 500

// AffectedBatch is Affected for many names of one ecosystem at once: one
// query per 500 names instead of one per name. The result is keyed by
// NormalizeName(ecosystem, name); names without records are absent.
func (d *DB) AffectedBatch(ctx context.Context, ecosystem string, names []string) (map[string][]AffectedRecord, error) {
	out := map[string][]AffectedRecord{}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = NormalizeName(ecosystem, n)
	}
	err := inBatches(keys, func(part []string) error {
		args := []any{ecosystem}
		for _, k := range part {
			args = append(args, k)
		}
		rows, err := d.db.QueryContext(ctx, affectedSelect+`WHERE a.ecosystem = ? AND a.name_key IN (`+placeholders(len(part))+`) ORDER BY ra.advisory, r.source, r.id`, args...)
		if err != nil {
			return fmt.Errorf("affected %s (%d names): %w", ecosystem, len(part), err)
		}
		recs, err := scanAffected(rows)
		if err != nil {
			return fmt.Errorf("affected %s: %w", ecosystem, err)
		}
		for _, r := range recs {
			k := NormalizeName(ecosystem, r.Package)
			out[k] = append(out[k], r)
		}
		return nil
	})
	return out, err
}

// DistroBatch is Distro for many source packages of one release at once.
// The result is keyed by source package; names without records are absent.
func (d *DB) DistroBatch(ctx context.Context, distro, release string, srcPkgs []string) (map[string][]AffectedRecord, error) {
	out := map[string][]AffectedRecord{}
	err := inBatches(srcPkgs, func(part []string) error {
		args := []any{distro, release}
		for _, k := range part {
			args = append(args, k)
		}
		rows, err := d.db.QueryContext(ctx, affectedSelect+`WHERE a.distro = ? AND a.release = ? AND a.name_key IN (`+placeholders(len(part))+`) ORDER BY ra.advisory, r.source, r.id`, args...)
		if err != nil {
			return fmt.Errorf("distro %s %s (%d packages): %w", distro, release, len(part), err)
		}
		recs, err := scanAffected(rows)
		if err != nil {
			return fmt.Errorf("distro %s %s: %w", distro, release, err)
		}
		for _, r := range recs {
			out[r.Package] = append(out[r.Package], r)
		}
		return nil
	})
	return out, err
}

// EnrichmentBatch is Enrichment for many advisory ids at once; unknown
// ids are absent from the result.
func (e *Enricher) EnrichmentBatch(ctx context.Context, db *DB, ids []string) (map[string]*Enrichment, error) {
	out := map[string]*Enrichment{}
	err := inBatches(ids, func(part []string) error {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		in := `(` + placeholders(len(part)) + `)`
		if err := each(ctx, db.db, `SELECT id, coalesce(summary,''), coalesce(severity,''), coalesce(score,0), coalesce(vector,''), coalesce(severity_source,''), coalesce(cwes,'') FROM advisory WHERE id IN `+in, args, func(s func(...any) error) error {
			en := &Enrichment{}
			var cwes string
			if err := s(&en.ID, &en.Summary, &en.Severity.Label, &en.Severity.Score, &en.Severity.Vector, &en.Severity.Source, &cwes); err != nil {
				return err
			}
			if cwes != "" {
				_ = json.Unmarshal([]byte(cwes), &en.CWEs)
			}
			out[en.ID] = en
			return nil
		}); err != nil {
			return fmt.Errorf("advisories: %w", err)
		}
		seen := map[string]bool{}
		if err := each(ctx, db.db, `SELECT ra.advisory, r.id, r.aliases, (SELECT count(*) FROM record_advisory x WHERE x.rid = r.rid) FROM record_advisory ra JOIN record r ON r.rid = ra.rid WHERE ra.advisory IN `+in, args, func(s func(...any) error) error {
			var adv, rid, aliases string
			var links int
			if err := s(&adv, &rid, &aliases, &links); err != nil {
				return err
			}
			en := out[adv]
			if en == nil {
				return nil
			}
			var as []string
			if links == 1 { // a notice fixing several vulnerabilities lends no aliases
				_ = json.Unmarshal([]byte(aliases), &as)
			}
			for _, a := range append([]string{rid}, as...) {
				if a != "" && a != adv && !seen[adv+"\x00"+a] {
					seen[adv+"\x00"+a] = true
					en.Aliases = append(en.Aliases, a)
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("aliases: %w", err)
		}
		if err := each(ctx, db.db, `SELECT ra.advisory, r.source, coalesce(s.source,''), coalesce(s.type,''), s.vector, coalesce(s.score,0) FROM record_advisory ra JOIN severity s ON s.rid = ra.rid JOIN record r ON r.rid = ra.rid WHERE ra.advisory IN `+in+` AND coalesce(s.vector,'') != '' ORDER BY ra.advisory, r.source, r.id, s.rowid`, args, func(s func(...any) error) error {
			var adv string
			var sc SourceScore
			if err := s(&adv, &sc.Source, &sc.Scorer, &sc.Type, &sc.Vector, &sc.Score); err != nil {
				return err
			}
			if en := out[adv]; en != nil {
				en.Scores = append(en.Scores, sc)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("severities: %w", err)
		}
		if err := each(ctx, db.db, `SELECT cve, coalesce(date_added,''), coalesce(due_date,''), coalesce(ransomware,''), coalesce(vendor,''), coalesce(product,'') FROM kev WHERE cve IN `+in, args, func(s func(...any) error) error {
			var id string
			var k feed.KEV
			if err := s(&id, &k.DateAdded, &k.DueDate, &k.Ransomware, &k.Vendor, &k.Product); err != nil {
				return err
			}
			if en := out[id]; en != nil {
				en.KEV = &k
			}
			return nil
		}); err != nil {
			return fmt.Errorf("kev: %w", err)
		}
		return each(ctx, db.db, `SELECT cve, coalesce(score,0), coalesce(percentile,0), coalesce(date,'') FROM epss WHERE cve IN `+in, args, func(s func(...any) error) error {
			var id string
			var ep feed.EPSS
			if err := s(&id, &ep.Score, &ep.Percentile, &ep.Date); err != nil {
				return err
			}
			if en := out[id]; en != nil {
				en.EPSS = &ep
			}
			return nil
		})
	})
	for _, en := range out {
		sort.Strings(en.Aliases)
	}
	return out, err
}

func each(ctx context.Context, db *sql.DB, q string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
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

func inBatches(keys []string, fn func([]string) error) error {
	for len(keys) > 0 {
		n := min(len(keys), batchSize)
		if err := fn(keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}
