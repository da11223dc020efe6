package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stella-scan/stella/internal/store"
)

// Tenants, users and roles (the admin pages). They are kept by a store
// implementing store.Accounts (SQLite does); with another store the server
// derives users from the API tokens and tenants are read-only.
//
// Who may do what:
//   - a tenant's admins manage its users (role, name, disabled) and see
//     its quotas and usage;
//   - admins of Admin.OperatorTenant also see and configure every tenant
//     (display name, quota overrides, disabled): those settings act across
//     tenants, so no other tenant's admin may touch them.

// accounts returns the store's tenants and users (through a short cache),
// or nil.
func (s *Server) accounts() store.Accounts {
	if s.acct == nil {
		return nil // not a typed nil in the interface
	}
	return s.acct
}

// accountTTL is how long a tenant or user read is reused: every request
// looks both up, and a change made through another gateway takes at most
// this long to apply here (this gateway's own changes apply at once).
const accountTTL = 2 * time.Second

// maxCached bounds each map of the cache; past it, the map starts over.
const maxCached = 10000

// accountCache is store.Accounts with GetTenant and GetUser answers
// (records and ErrNotFound) kept for ttl, and dropped by this process's
// writes.
type accountCache struct {
	store.Accounts
	ttl time.Duration
	now func() time.Time // wall clock; a test's own
	mu  sync.Mutex
	// gen counts this process's writes: a read that began before one
	// may have fetched the old record, and is then not cached (else a
	// user just disabled could pass for another ttl).
	gen     uint64
	tenants map[string]cached[store.Tenant]
	users   map[[2]string]cached[store.User]
}

// cached is one answer: a record, or nil for not found.
type cached[T any] struct {
	v  *T
	at time.Time
}

// newAccountCache returns nil when st keeps no accounts.
func newAccountCache(st store.Store, ttl time.Duration) *accountCache {
	a, ok := st.(store.Accounts)
	if !ok {
		return nil
	}
	return &accountCache{Accounts: a, ttl: ttl, now: time.Now, tenants: map[string]cached[store.Tenant]{}, users: map[[2]string]cached[store.User]{}}
}

// cachedGet returns a copy of m[k] while it is fresh, else fetches it and
// keeps the answer, unless one of this process's writes began meanwhile;
// nil, nil for not found.
func cachedGet[K comparable, T any](c *accountCache, m map[K]cached[T], k K, fetch func() (*T, error)) (*T, error) {
	c.mu.Lock()
	e, ok := m[k]
	gen := c.gen
	c.mu.Unlock()
	if !ok || c.now().Sub(e.at) > c.ttl {
		v, err := fetch()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		e = cached[T]{v: v, at: c.now()}
		c.mu.Lock()
		if c.gen == gen {
			if len(m) >= maxCached {
				clear(m)
			}
			m[k] = e
		}
		c.mu.Unlock()
	}
	if e.v == nil {
		return nil, nil
	}
	v := *e.v
	return &v, nil
}

func (c *accountCache) GetTenant(ctx context.Context, name string) (*store.Tenant, error) {
	t, err := cachedGet(c, c.tenants, name, func() (*store.Tenant, error) { return c.Accounts.GetTenant(ctx, name) })
	if err == nil && t == nil {
		return nil, fmt.Errorf("tenant %q: %w", name, store.ErrNotFound)
	}
	return t, err
}

func (c *accountCache) GetUser(ctx context.Context, tenant, subject string) (*store.User, error) {
	u, err := cachedGet(c, c.users, [2]string{tenant, subject}, func() (*store.User, error) { return c.Accounts.GetUser(ctx, tenant, subject) })
	if err == nil && u == nil {
		return nil, fmt.Errorf("user %q of tenant %q: %w", subject, tenant, store.ErrNotFound)
	}
	return u, err
}

func (c *accountCache) PutTenant(ctx context.Context, t *store.Tenant) error {
	defer c.forgetTenant(t.Name)
	return c.Accounts.PutTenant(ctx, t)
}

func (c *accountCache) PutUser(ctx context.Context, u *store.User) error {
	defer c.forgetUser(u.Tenant, u.Subject)
	return c.Accounts.PutUser(ctx, u)
}

func (c *accountCache) DeleteUser(ctx context.Context, tenant, subject string) error {
	defer c.forgetUser(tenant, subject)
	return c.Accounts.DeleteUser(ctx, tenant, subject)
}

func (c *accountCache) forgetTenant(name string) {
	c.mu.Lock()
	c.gen++
	delete(c.tenants, name)
	c.mu.Unlock()
}

func (c *accountCache) forgetUser(tenant, subject string) {
	c.mu.Lock()
	c.gen++
	delete(c.users, [2]string{tenant, subject})
	c.mu.Unlock()
}

// isOperator reports whether p administers the whole server.
func (s *Server) isOperator(p *Principal) bool {
	return s.cfg.Admin.OperatorTenant != "" && p.Tenant == s.cfg.Admin.OperatorTenant && p.Role == RoleAdmin
}

// checkAccount applies the stored accounts to an authenticated principal:
// a disabled tenant or user is refused (an *authError, so 401), and a
// user's stored role caps the role its token or JWT claims. It returns p
// unchanged when the store keeps no accounts or none matches. The gateway
// calls it after authentication.
func (s *Server) checkAccount(ctx context.Context, p *Principal) (*Principal, error) {
	a := s.accounts()
	if a == nil || p == nil {
		return p, nil
	}
	t, err := a.GetTenant(ctx, p.Tenant)
	switch {
	case err == nil && t.Disabled:
		return nil, refuse("tenant %s is disabled", p.Tenant)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("look up tenant %s: %w", p.Tenant, err)
	}
	u, err := a.GetUser(ctx, p.Tenant, p.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %s of tenant %s: %w", p.Subject, p.Tenant, err)
	}
	if u.Disabled {
		return nil, refuse("user %s is disabled in tenant %s", p.Subject, p.Tenant)
	}
	if !ValidRole(u.Role) {
		// A record this server did not write: grant nothing rather than
		// the claimed role.
		return nil, refuse("user %s of tenant %s has the unknown stored role %q: ask an admin to set one", p.Subject, p.Tenant, u.Role)
	}
	if roleRank[u.Role] < roleRank[p.Role] {
		capped := *p
		capped.Role = u.Role
		return &capped, nil
	}
	return p, nil
}

// tenantLimits returns the quotas in force for tenant: its stored
// overrides, else the server's.
func (s *Server) tenantLimits(ctx context.Context, tenant string) (requestsPerMinute, scansPerDay int) {
	requestsPerMinute, scansPerDay = s.cfg.Quota.RequestsPerMinute, s.cfg.Quota.ScansPerDay
	a := s.accounts()
	if a == nil {
		return
	}
	t, err := a.GetTenant(ctx, tenant)
	if err != nil {
		return
	}
	if t.RequestsPerMinute > 0 {
		requestsPerMinute = t.RequestsPerMinute
	}
	if t.ScansPerDay > 0 {
		scansPerDay = t.ScansPerDay
	}
	return
}

// tenantName is a tenant an operator configures: a path segment and a
// file-name-safe word.
var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

const (
	maxSubject = 256 // bytes of a subject (and of a tenant in ?tenant=)
	maxName    = 200 // bytes of a display name
)

// validSubject: 1 to maxSubject printable characters, no surrounding
// space (IdPs' subjects are e-mails, UUIDs, "auth0|123"...).
func validSubject(s string) bool {
	return s != "" && len(s) <= maxSubject && strings.TrimSpace(s) == s && printable(s)
}

// validName is a display name: bounded and printable (it is logged and
// shown), possibly empty.
func validName(s string) bool { return len(s) <= maxName && printable(s) }

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// maxQuota bounds a quota override.
const maxQuota = 1_000_000

// ---- users ----

// User is one subject of the tenant: its stored record (role, name,
// disabled) when an admin set one, and the API tokens it holds.
type User struct {
	Subject string `json:"subject"`
	Name    string `json:"name,omitempty"`
	// Role is the stored role, "" for a subject only seen in tokens.
	Role string `json:"role,omitempty"`
	// Roles are the roles of its active API tokens.
	Roles    []string `json:"roles"`
	Tokens   int      `json:"tokens"`
	Disabled bool     `json:"disabled"`
	// Managed is true when the user has a stored record.
	Managed   bool       `json:"managed"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// UserList is the answer to GET /api/users.
type UserList struct {
	Users []User `json:"users"`
	// Managed says whether users can be stored (PUT /api/users/{subject}).
	Managed bool   `json:"managed"`
	Note    string `json:"note"`
}

func (s *Server) users(w http.ResponseWriter, r *http.Request, p *Principal) {
	toks, err := s.cfg.Store.ListTokens(r.Context(), p.Tenant)
	if err != nil {
		s.requestFailed(w, fmt.Errorf("list tokens of %s: %w", p.Tenant, err))
		return
	}
	by := map[string]*User{}
	get := func(sub string) *User {
		u := by[sub]
		if u == nil {
			u = &User{Subject: sub, Roles: []string{}}
			by[sub] = u
		}
		return u
	}
	a := s.accounts()
	if a != nil {
		us, err := a.ListUsers(r.Context(), p.Tenant)
		if err != nil {
			s.requestFailed(w, err)
			return
		}
		for _, su := range us {
			u := get(su.Subject)
			u.Name, u.Role, u.Disabled, u.Managed = su.Name, su.Role, su.Disabled, true
			at := su.UpdatedAt
			u.UpdatedAt = &at
		}
	}
	for _, t := range toks {
		if t.RevokedAt != nil || (t.ExpiresAt != nil && !s.cfg.Now().Before(*t.ExpiresAt)) {
			continue
		}
		u := get(t.Subject)
		u.Tokens++
		if !contains(u.Roles, t.Role) {
			u.Roles = append(u.Roles, t.Role)
		}
	}
	out := UserList{Users: []User{}, Managed: a != nil,
		Note: "Users sign in through the identity provider (JWT) or with API tokens; a stored role caps what they may do here, and a disabled user is refused"}
	if a == nil {
		out.Note = "This store keeps no users: the list shows the subjects holding API tokens; roles come from the identity provider's JWT claims"
	}
	for _, u := range by {
		sort.Strings(u.Roles)
		out.Users = append(out.Users, *u)
	}
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].Subject < out.Users[j].Subject })
	writeJSON(w, http.StatusOK, out)
}

// UserUpdate is the body of PUT /api/users/{subject}.
type UserUpdate struct {
	Role     string `json:"role"`
	Name     string `json:"name,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

// UserSaved is the answer to PUT /api/users/{subject}: the stored user and
// how many of its API tokens were revoked because they exceeded its role
// (all of them when it is disabled).
type UserSaved struct {
	User    store.User `json:"user"`
	Revoked int        `json:"revoked"`
}

// noAccounts answers a write the store cannot keep (MongoDB today).
func (s *Server) noAccounts(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotImplemented, "cannot store %s: this server's store keeps no users or tenants (the MongoDB store does not; the SQLite store does). "+
		"Roles and tenants come from the identity provider's JWT claims and the API tokens; quotas from --rate-limit and --scans-per-day", what)
}

// userTarget is the accounts store and the subject a user write names;
// false when it answered already (no accounts, a bad subject).
func (s *Server) userTarget(w http.ResponseWriter, r *http.Request) (store.Accounts, string, bool) {
	a := s.accounts()
	if a == nil {
		s.noAccounts(w, "a user")
		return nil, "", false
	}
	sub, ok := s.subjectOf(w, r)
	return a, sub, ok
}

func (s *Server) putUser(w http.ResponseWriter, r *http.Request, p *Principal) {
	a, sub, ok := s.userTarget(w, r)
	if !ok {
		return
	}
	var req UserUpdate
	if err := decodeJSON(w, r, 16<<10, &req); err != nil {
		s.requestFailed(w, err)
		return
	}
	if !ValidRole(req.Role) {
		s.requestFailed(w, badRequest("role %q: want admin, scanner or viewer", req.Role))
		return
	}
	if !validName(req.Name) {
		s.requestFailed(w, badRequest("name: at most %d bytes of printable characters", maxName))
		return
	}
	if sub == p.Subject && (req.Disabled || roleRank[req.Role] < roleRank[p.Role]) {
		writeError(w, http.StatusConflict, "you may not demote or disable yourself (%s): ask another admin", sub)
		return
	}
	_, err := a.GetUser(r.Context(), p.Tenant, sub)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		s.requestFailed(w, err)
		return
	}
	u := store.User{Tenant: p.Tenant, Subject: sub, Name: req.Name, Role: req.Role, Disabled: req.Disabled}
	if err := a.PutUser(r.Context(), &u); err != nil {
		s.requestFailed(w, err)
		return
	}
	keep := req.Role
	if req.Disabled {
		keep = ""
	}
	n, err := s.revokeTokensAbove(r.Context(), p.Tenant, sub, keep)
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	s.log.Info("user saved", "tenant", p.Tenant, "subject", sub, "role", u.Role, "disabled", u.Disabled, "by", p.Subject, "revoked", n)
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, UserSaved{User: u, Revoked: n})
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p *Principal) {
	a, sub, ok := s.userTarget(w, r)
	if !ok {
		return
	}
	if sub == p.Subject {
		writeError(w, http.StatusConflict, "you may not delete yourself (%s): ask another admin", sub)
		return
	}
	err := a.DeleteUser(r.Context(), p.Tenant, sub)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "user %q not found", sub)
		return
	}
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	n, err := s.revokeTokensAbove(r.Context(), p.Tenant, sub, "")
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	s.log.Info("user deleted", "tenant", p.Tenant, "subject", sub, "by", p.Subject, "revoked", n)
	w.WriteHeader(http.StatusNoContent)
}

// subjectOf is the {subject} of the path, or false after a 400.
func (s *Server) subjectOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	sub := r.PathValue("subject")
	if !validSubject(sub) {
		s.requestFailed(w, badRequest("subject %q: want 1 to %d bytes of printable characters, no surrounding spaces", sub, maxSubject))
		return "", false
	}
	return sub, true
}

// revokeTokensAbove revokes the subject's active tokens whose role exceeds
// keep (every one when keep is "").
func (s *Server) revokeTokensAbove(ctx context.Context, tenant, sub, keep string) (int, error) {
	toks, err := s.cfg.Store.ListTokens(ctx, tenant)
	if err != nil {
		return 0, fmt.Errorf("list tokens of %s: %w", tenant, err)
	}
	n := 0
	for _, t := range toks {
		if t.Subject != sub || t.RevokedAt != nil || (keep != "" && roleRank[t.Role] <= roleRank[keep]) {
			continue
		}
		if err := s.cfg.Store.RevokeToken(ctx, tenant, t.ID, s.cfg.Now().UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, fmt.Errorf("revoke token %s of %s: %w", t.ID, sub, err)
		}
		n++
	}
	return n, nil
}

// ---- tenants and quotas ----

// TenantInfo is one tenant with its quotas in force and today's usage.
type TenantInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Disabled    bool   `json:"disabled"`
	// Stored is true when the tenant has a record (settings).
	Stored bool `json:"stored"`
	// The overrides (0: the server's) and the limits in force (0:
	// unlimited).
	ScansPerDayOverride       int `json:"scansPerDayOverride"`
	RequestsPerMinuteOverride int `json:"requestsPerMinuteOverride"`
	ScansPerDay               int `json:"scansPerDay"`
	RequestsPerMinute         int `json:"requestsPerMinute"`
	ScansToday                int `json:"scansToday"`
	Tokens                    int `json:"tokens"`
	Users                     int `json:"users"`
}

// TenantList is the answer to GET /api/tenants.
type TenantList struct {
	Tenants []TenantInfo `json:"tenants"`
	// Operator is true when the caller administers every tenant.
	Operator bool `json:"operator"`
	// Editable is true when tenant settings can be stored.
	Editable bool `json:"editable"`
}

// maxCounted bounds the scans counted for today's usage of one tenant.
const maxCounted = 100000

func (s *Server) scansToday(ctx context.Context, tenant string) (int, error) {
	today := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	n, cursor := 0, ""
	for n < maxCounted {
		scans, next, err := s.cfg.Store.ListScans(ctx, store.ScanFilter{Tenant: tenant, Since: today, Limit: 500, Cursor: cursor})
		if err != nil {
			return 0, fmt.Errorf("count scans of %s today: %w", tenant, err)
		}
		n += len(scans)
		if next == "" {
			break
		}
		cursor = next
	}
	return n, nil
}

func (s *Server) tenantInfo(ctx context.Context, name string, rec *store.Tenant) (TenantInfo, error) {
	ti := TenantInfo{Name: name}
	if rec != nil {
		ti.DisplayName, ti.Disabled, ti.Stored = rec.DisplayName, rec.Disabled, true
		ti.ScansPerDayOverride, ti.RequestsPerMinuteOverride = rec.ScansPerDay, rec.RequestsPerMinute
	}
	ti.RequestsPerMinute, ti.ScansPerDay = s.tenantLimits(ctx, name)
	var err error
	if ti.ScansToday, err = s.scansToday(ctx, name); err != nil {
		return ti, err
	}
	toks, err := s.cfg.Store.ListTokens(ctx, name)
	if err != nil {
		return ti, fmt.Errorf("list tokens of %s: %w", name, err)
	}
	for _, t := range toks {
		if t.RevokedAt == nil {
			ti.Tokens++
		}
	}
	if a := s.accounts(); a != nil {
		us, err := a.ListUsers(ctx, name)
		if err != nil {
			return ti, err
		}
		ti.Users = len(us)
	}
	return ti, nil
}

// tenants lists the caller's own tenant, or every tenant for an operator.
func (s *Server) tenants(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	recs := map[string]*store.Tenant{}
	names := []string{p.Tenant}
	a := s.accounts()
	if a != nil {
		if s.isOperator(p) {
			ts, err := a.ListTenants(ctx)
			if err != nil {
				s.requestFailed(w, err)
				return
			}
			for i := range ts {
				recs[ts[i].Name] = &ts[i]
				if ts[i].Name != p.Tenant {
					names = append(names, ts[i].Name)
				}
			}
		} else if t, err := a.GetTenant(ctx, p.Tenant); err == nil {
			recs[p.Tenant] = t
		} else if !errors.Is(err, store.ErrNotFound) {
			s.requestFailed(w, err)
			return
		}
	}
	sort.Strings(names)
	out := TenantList{Tenants: []TenantInfo{}, Operator: s.isOperator(p), Editable: a != nil && s.isOperator(p)}
	for _, n := range names {
		ti, err := s.tenantInfo(ctx, n, recs[n])
		if err != nil {
			s.requestFailed(w, err)
			return
		}
		out.Tenants = append(out.Tenants, ti)
	}
	writeJSON(w, http.StatusOK, out)
}

// TenantUpdate is the body of PUT /api/tenants/{name}.
type TenantUpdate struct {
	DisplayName       string `json:"displayName,omitempty"`
	ScansPerDay       int    `json:"scansPerDay,omitempty"`
	RequestsPerMinute int    `json:"requestsPerMinute,omitempty"`
	Disabled          bool   `json:"disabled,omitempty"`
}

func (s *Server) putTenant(w http.ResponseWriter, r *http.Request, p *Principal) {
	// Who may, before what the store can: a tenant admin learns nothing
	// about the server's set-up.
	if !s.isOperator(p) {
		writeError(w, http.StatusForbidden, "only admins of the operator tenant (--operator-tenant) manage tenants and their quotas")
		return
	}
	a := s.accounts()
	if a == nil {
		s.noAccounts(w, "tenant settings")
		return
	}
	name := r.PathValue("name")
	if !tenantName.MatchString(name) {
		s.requestFailed(w, badRequest("tenant %q: want 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", name))
		return
	}
	var req TenantUpdate
	if err := decodeJSON(w, r, 16<<10, &req); err != nil {
		s.requestFailed(w, err)
		return
	}
	switch {
	case !validName(req.DisplayName):
		s.requestFailed(w, badRequest("displayName: at most %d bytes of printable characters", maxName))
		return
	case req.ScansPerDay < 0 || req.ScansPerDay > maxQuota || req.RequestsPerMinute < 0 || req.RequestsPerMinute > maxQuota:
		s.requestFailed(w, badRequest("quotas: want 0 (the server's) up to %d", maxQuota))
		return
	case req.Disabled && name == p.Tenant:
		writeError(w, http.StatusConflict, "you may not disable the operator tenant %s", name)
		return
	}
	_, err := a.GetTenant(r.Context(), name)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		s.requestFailed(w, err)
		return
	}
	t := store.Tenant{Name: name, DisplayName: req.DisplayName, ScansPerDay: req.ScansPerDay, RequestsPerMinute: req.RequestsPerMinute, Disabled: req.Disabled}
	if err := a.PutTenant(r.Context(), &t); err != nil {
		s.requestFailed(w, err)
		return
	}
	s.log.Info("tenant saved", "tenant", name, "scansPerDay", t.ScansPerDay, "requestsPerMinute", t.RequestsPerMinute, "disabled", t.Disabled, "by", p.Subject)
	ti, err := s.tenantInfo(r.Context(), name, &t)
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, ti)
}

// QuotaUsage is the answer to GET /api/quotas.
type QuotaUsage struct {
	Tenant            string `json:"tenant"`
	RequestsPerMinute int    `json:"requestsPerMinute"`
	ScansPerDay       int    `json:"scansPerDay"`
	ScansToday        int    `json:"scansToday"`
	// Overridden is true when the tenant has its own quotas.
	Overridden bool `json:"overridden"`
}

// quotaUsage reports a tenant's limits in force and today's scans: the
// caller's, or (for an operator) any tenant's with ?tenant=.
func (s *Server) quotaUsage(w http.ResponseWriter, r *http.Request, p *Principal) {
	tenant := p.Tenant
	if q := r.URL.Query().Get("tenant"); q != "" && q != p.Tenant {
		// Another tenant's quotas are as hidden as its scans: 404.
		if !s.isOperator(p) {
			writeError(w, http.StatusNotFound, "tenant %q not found", q)
			return
		}
		if !validSubject(q) {
			s.requestFailed(w, badRequest("tenant %q: want 1 to %d bytes of printable characters", q, maxSubject))
			return
		}
		tenant = q
	}
	n, err := s.scansToday(r.Context(), tenant)
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	rpm, spd := s.tenantLimits(r.Context(), tenant)
	writeJSON(w, http.StatusOK, QuotaUsage{Tenant: tenant, RequestsPerMinute: rpm, ScansPerDay: spd, ScansToday: n,
		Overridden: s.hasOverrides(r.Context(), tenant)})
}

// hasOverrides reports whether tenant has quotas of its own.
func (s *Server) hasOverrides(ctx context.Context, tenant string) bool {
	a := s.accounts()
	if a == nil {
		return false
	}
	t, err := a.GetTenant(ctx, tenant)
	return err == nil && (t.ScansPerDay > 0 || t.RequestsPerMinute > 0)
}
