package vulndb

import (
	"context"
	"fmt"
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
