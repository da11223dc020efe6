package sqlite

import (
	"context"
	"fmt"

	"github.com/stella-scan/stella/internal/store"
)

// PendingScans lists queued and running scans of every tenant, oldest
// first (store.Pending).
func (s *Store) PendingScans(ctx context.Context, limit int) ([]store.Scan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+scanCols+` FROM scans WHERE state IN (?, ?) ORDER BY created_at, id LIMIT ?`,
		store.StateQueued, store.StateRunning, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: pending scans: %w", err)
	}
	defer rows.Close()
	var out []store.Scan
	for rows.Next() {
		sc, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: pending scans: %w", err)
		}
		out = append(out, *sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: pending scans: %w", err)
	}
	return out, nil
}
