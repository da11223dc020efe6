// Package store keeps scans, their results (SBOM, findings, decision),
// API tokens and tenants. Two implementations satisfy Store: embedded
// SQLite (the default, under --data DIR) and MongoDB (--store
// mongodb://…, the official driver); one contract test suite runs against
// both.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/stella-scan/stella/internal/report"
)

// Scan states.
const (
	StateQueued  = "queued"
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Scan is one scan request and, once done, its result. Every scan belongs
// to a tenant; no query returns another tenant's scan.
type Scan struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Target    string    `json:"target"` // image reference, or "sbom:" for an uploaded SBOM
	State     string    `json:"state"`
	Error     string    `json:"error,omitempty"`
	Digest    string    `json:"digest,omitempty"`  // image manifest digest, when known
	Verdict   string    `json:"verdict,omitempty"` // pass, warn, fail
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Attempts counts how many workers took the job.
	Attempts int `json:"attempts"`
	// Result is nil until State is done.
	Result *report.Result `json:"result,omitempty"`
	// Request carries what the client posted (an uploaded SBOM, options).
	Request []byte `json:"-"`
}

// ScanFilter selects scans of one tenant.
type ScanFilter struct {
	Tenant  string
	State   string
	Target  string // substring
	Digest  string
	Verdict string
	Since   time.Time
	Limit   int // default 50, at most 500
	Cursor  string
}

// FindingFilter selects findings across a tenant's latest scans.
type FindingFilter struct {
	Tenant   string
	CVE      string // id or alias
	Package  string
	Severity string
	Limit    int
	Cursor   string
}

// FindingRow is one finding with the scan it came from.
type FindingRow struct {
	ScanID    string    `json:"scanId"`
	Target    string    `json:"target"`
	Digest    string    `json:"digest,omitempty"`
	ID        string    `json:"id"`
	Aliases   []string  `json:"aliases,omitempty"`
	Package   string    `json:"package"`
	Version   string    `json:"version"`
	Ecosystem string    `json:"ecosystem"`
	Severity  string    `json:"severity"`
	Fixed     []string  `json:"fixed,omitempty"`
	KEV       bool      `json:"kev"`
	ScannedAt time.Time `json:"scannedAt"`
}

// Token is an API token a user created; only its hash is stored.
type Token struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Subject   string     `json:"subject"`
	Role      string     `json:"role"` // admin, scanner, viewer
	Name      string     `json:"name"`
	Hash      string     `json:"-"` // sha256 of the secret
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// ErrNotFound is returned for an absent object, and for another tenant's
// object (the API answers 404, never 403, so tenants cannot probe ids).
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would violate a uniqueness rule
// (a scan id stored twice with another owner, say).
var ErrConflict = errors.New("conflict")

// Store is the persistence of the server. Every method is safe for
// concurrent use; every read is scoped by tenant.
type Store interface {
	// CreateScan persists a queued scan; it must be durable before the API
	// answers 202.
	CreateScan(ctx context.Context, s *Scan) error
	// UpdateScan changes state, error, attempts, verdict, digest.
	UpdateScan(ctx context.Context, s *Scan) error
	// CompleteScan stores a result exactly once: a second completion of the
	// same scan id (a re-claimed job finishing twice) changes nothing and
	// returns nil.
	CompleteScan(ctx context.Context, tenant, id string, r *report.Result) error
	GetScan(ctx context.Context, tenant, id string) (*Scan, error)
	ListScans(ctx context.Context, f ScanFilter) (scans []Scan, next string, err error)
	Findings(ctx context.Context, f FindingFilter) (rows []FindingRow, next string, err error)
	// ScansByDigest returns a tenant's scans of one image digest, newest first.
	ScansByDigest(ctx context.Context, tenant, digest string) ([]Scan, error)

	PutToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	ListTokens(ctx context.Context, tenant string) ([]Token, error)
	RevokeToken(ctx context.Context, tenant, id string, at time.Time) error

	// Ping reports whether the store is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Pending is implemented by stores that can list the unfinished (queued or
// running) scans of every tenant, oldest first: `stella serve` rebuilds its
// in-process queue from them at start, so a restart loses no accepted scan.
type Pending interface {
	PendingScans(ctx context.Context, limit int) ([]Scan, error)
}
