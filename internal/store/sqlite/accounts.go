package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stella-scan/stella/internal/store"
)

// accountsSchema is migration 2: tenants and their users.
const accountsSchema = `CREATE TABLE tenants (
		name                TEXT PRIMARY KEY,
		display_name        TEXT NOT NULL DEFAULT '',
		scans_per_day       INTEGER NOT NULL DEFAULT 0,
		requests_per_minute INTEGER NOT NULL DEFAULT 0,
		disabled            INTEGER NOT NULL DEFAULT 0,
		created_at          INTEGER NOT NULL,
		updated_at          INTEGER NOT NULL
	);
	CREATE TABLE users (
		tenant     TEXT NOT NULL,
		subject    TEXT NOT NULL,
		name       TEXT NOT NULL DEFAULT '',
		role       TEXT NOT NULL,
		disabled   INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (tenant, subject)
	) WITHOUT ROWID;`

var _ store.Accounts = (*Store)(nil)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PutTenant implements store.Accounts.
func (s *Store) PutTenant(ctx context.Context, t *store.Tenant) error {
	if t.Name == "" {
		return errors.New("sqlite store: put tenant: a name is required")
	}
	now := time.Now().UTC()
	t.UpdatedAt = now
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	var created int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO tenants (name, display_name, scans_per_day, requests_per_minute, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, scans_per_day = excluded.scans_per_day,
			requests_per_minute = excluded.requests_per_minute, disabled = excluded.disabled, updated_at = excluded.updated_at
		RETURNING created_at`,
		t.Name, t.DisplayName, t.ScansPerDay, t.RequestsPerMinute, b2i(t.Disabled), nanos(t.CreatedAt), nanos(now)).Scan(&created)
	if err != nil {
		return fmt.Errorf("sqlite store: put tenant %q: %w", t.Name, err)
	}
	t.CreatedAt = fromNanos(created)
	return nil
}

const tenantCols = `name, display_name, scans_per_day, requests_per_minute, disabled, created_at, updated_at`

func scanTenant(row interface{ Scan(...any) error }) (*store.Tenant, error) {
	var (
		t                store.Tenant
		disabled         int
		created, updated int64
	)
	if err := row.Scan(&t.Name, &t.DisplayName, &t.ScansPerDay, &t.RequestsPerMinute, &disabled, &created, &updated); err != nil {
		return nil, err
	}
	t.Disabled, t.CreatedAt, t.UpdatedAt = disabled != 0, fromNanos(created), fromNanos(updated)
	return &t, nil
}

// GetTenant implements store.Accounts.
func (s *Store) GetTenant(ctx context.Context, name string) (*store.Tenant, error) {
	t, err := scanTenant(s.db.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tenant %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: get tenant %q: %w", name, err)
	}
	return t, nil
}

// ListTenants implements store.Accounts.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY name LIMIT ?`, store.MaxAccounts)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list tenants: %w", err)
	}
	defer rows.Close()
	out := []store.Tenant{}
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: list tenants: %w", err)
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: list tenants: %w", err)
	}
	return out, nil
}

// PutUser implements store.Accounts.
func (s *Store) PutUser(ctx context.Context, u *store.User) error {
	if u.Tenant == "" || u.Subject == "" || u.Role == "" {
		return fmt.Errorf("sqlite store: put user %q of tenant %q: tenant, subject and role are required", u.Subject, u.Tenant)
	}
	now := time.Now().UTC()
	u.UpdatedAt = now
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	var created int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO users (tenant, subject, name, role, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, subject) DO UPDATE SET name = excluded.name, role = excluded.role,
			disabled = excluded.disabled, updated_at = excluded.updated_at
		RETURNING created_at`,
		u.Tenant, u.Subject, u.Name, u.Role, b2i(u.Disabled), nanos(u.CreatedAt), nanos(now)).Scan(&created)
	if err != nil {
		return fmt.Errorf("sqlite store: put user %q of tenant %q: %w", u.Subject, u.Tenant, err)
	}
	u.CreatedAt = fromNanos(created)
	return nil
}

const userCols = `tenant, subject, name, role, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var (
		u                store.User
		disabled         int
		created, updated int64
	)
	if err := row.Scan(&u.Tenant, &u.Subject, &u.Name, &u.Role, &disabled, &created, &updated); err != nil {
		return nil, err
	}
	u.Disabled, u.CreatedAt, u.UpdatedAt = disabled != 0, fromNanos(created), fromNanos(updated)
	return &u, nil
}

// GetUser implements store.Accounts.
func (s *Store) GetUser(ctx context.Context, tenant, subject string) (*store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant = ? AND subject = ?`, tenant, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %q of tenant %q: %w", subject, tenant, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: get user %q of tenant %q: %w", subject, tenant, err)
	}
	return u, nil
}

// ListUsers implements store.Accounts.
func (s *Store) ListUsers(ctx context.Context, tenant string) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant = ? ORDER BY subject LIMIT ?`, tenant, store.MaxAccounts)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list users of tenant %q: %w", tenant, err)
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: list users of tenant %q: %w", tenant, err)
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: list users of tenant %q: %w", tenant, err)
	}
	return out, nil
}

// DeleteUser implements store.Accounts.
func (s *Store) DeleteUser(ctx context.Context, tenant, subject string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE tenant = ? AND subject = ?`, tenant, subject)
	if err != nil {
		return fmt.Errorf("sqlite store: delete user %q of tenant %q: %w", subject, tenant, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %q of tenant %q: %w", subject, tenant, store.ErrNotFound)
	}
	return nil
}
