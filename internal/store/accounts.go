package store

import (
	"context"
	"time"
)

// Tenant is one tenant's settings, kept by the server's operators. A
// tenant exists as soon as a token names it; a record only adds a display
// name, quota overrides and the disabled switch.
type Tenant struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// ScansPerDay and RequestsPerMinute override the server's quotas for
	// this tenant; 0 keeps the server's.
	ScansPerDay       int `json:"scansPerDay"`
	RequestsPerMinute int `json:"requestsPerMinute"`
	// Disabled tenants are refused (every token, every JWT).
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// User is a subject of a tenant with the role Stella grants it: the
// ceiling of what its API tokens and JWTs may do there.
type User struct {
	Tenant  string `json:"tenant"`
	Subject string `json:"subject"`
	Name    string `json:"name,omitempty"`
	Role    string `json:"role"` // admin, scanner, viewer
	// Disabled users are refused; their tokens are revoked.
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// MaxAccounts bounds ListTenants and ListUsers.
const MaxAccounts = 1000

// Accounts is implemented by stores that keep tenants and users (the admin
// pages' tenants, users and roles). It is separate from Store so a store
// without it still serves scans; the server then derives users from the
// API tokens. Every method is safe for concurrent use.
type Accounts interface {
	// PutTenant creates or replaces the tenant named t.Name; CreatedAt of
	// an existing tenant is kept, UpdatedAt set. It fills t's times.
	PutTenant(ctx context.Context, t *Tenant) error
	// GetTenant returns ErrNotFound for a tenant without a record.
	GetTenant(ctx context.Context, name string) (*Tenant, error)
	// ListTenants returns up to MaxAccounts tenants by name.
	ListTenants(ctx context.Context) ([]Tenant, error)

	// PutUser creates or replaces the user (u.Tenant, u.Subject), keeping
	// CreatedAt of an existing one. It fills u's times.
	PutUser(ctx context.Context, u *User) error
	// GetUser returns ErrNotFound for an absent user and for a user of
	// another tenant.
	GetUser(ctx context.Context, tenant, subject string) (*User, error)
	// ListUsers returns up to MaxAccounts users of one tenant by subject.
	ListUsers(ctx context.Context, tenant string) ([]User, error)
	// DeleteUser returns ErrNotFound when the tenant has no such user.
	DeleteUser(ctx context.Context, tenant, subject string) error
}
