package rpm

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var sqliteMagic = []byte("SQLite format 3\x00")

// sqliteTimeout bounds the query on one database; a real rpmdb.sqlite of
// a few thousand packages reads in well under a second.
const sqliteTimeout = 30 * time.Second

// sqliteValues returns the header blobs of an rpm SQLite database
// (rpmdb.sqlite, rpm ≥ 4.16: table Packages(hnum, blob)). The bytes are
// loaded into an in-memory database with sqlite3_deserialize, so nothing
// is written to disk. A database in WAL mode is read as a rollback-journal
// one (the WAL file is not part of the layer's view anyway); the schema is
// not trusted: Packages must be a plain table.
func sqliteValues(ctx context.Context, data []byte) ([][]byte, error) {
	if len(data) < 100 || !bytes.HasPrefix(data, sqliteMagic) {
		return nil, errors.New("sqlite: not an SQLite 3 database")
	}
	if data[18] == 2 || data[19] == 2 {
		// Bytes 18/19 are the write/read format versions: 2 means WAL,
		// which an in-memory database cannot open.
		data = bytes.Clone(data)
		data[18], data[19] = 1, 1
	}
	ctx, cancel := context.WithTimeout(ctx, sqliteTimeout)
	defer cancel()

	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		d, ok := dc.(interface{ Deserialize([]byte) error })
		if !ok {
			return errors.New("driver cannot load a database from memory")
		}
		return d.Deserialize(data)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: load: %w", err)
	}
	for _, pragma := range []string{"PRAGMA trusted_schema=OFF", "PRAGMA query_only=ON", "PRAGMA cell_size_check=ON"} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", pragma, err)
		}
	}
	var typ string
	err = conn.QueryRowContext(ctx, "SELECT type FROM sqlite_master WHERE name = 'Packages'").Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errors.New("sqlite: no Packages table: not an rpm database")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if typ != "table" {
		return nil, fmt.Errorf("sqlite: Packages is a %s, not a table", typ)
	}
	rows, err := conn.QueryContext(ctx, "SELECT blob FROM Packages")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var values [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		values = append(values, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return values, nil
}
