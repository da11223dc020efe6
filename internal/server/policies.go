package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/policy"
)

// Organisation policies on the admin page: the files in force, and (for
// the operator's admins) uploads into Admin.PolicyUploadDir and deletions
// from it. Policies apply to every tenant, which is why no other tenant's
// admin may change them.

const (
	maxPolicyView  = 256 << 10 // one file shown or uploaded
	maxPolicyList  = 200       // files listed
	maxPolicyCopy  = 16 << 20  // bytes of the upload dir copied for a compile check
	maxPolicyFiles = 1000      // files of the upload dir copied for a compile check
)

// policyName is an uploaded file's name: no directories, no dot files.
var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\.rego$`)

// PolicyFile is one organisation policy file in force.
type PolicyFile struct {
	Path   string `json:"path"`
	Name   string `json:"name"`
	Source string `json:"source"`
	// Uploaded is true for files in the upload directory (deletable).
	Uploaded bool `json:"uploaded"`
}

// PolicyList is the answer to GET /api/policies.
type PolicyList struct {
	Policies []PolicyFile `json:"policies"`
	Builtin  string       `json:"builtin"`
	// Uploadable is true when the caller may upload and delete policies.
	Uploadable bool `json:"uploadable"`
}

// policyDirs are the directories in force: PolicyDirs and the upload
// directory, each once. The slice is the caller's.
func (s *Server) policyDirs() []string {
	dirs := append([]string(nil), s.cfg.Admin.PolicyDirs...)
	if up := s.cfg.Admin.PolicyUploadDir; up != "" && !s.hasDir(dirs, up) {
		dirs = append(dirs, up)
	}
	return dirs
}

func (s *Server) hasDir(dirs []string, d string) bool {
	for _, x := range dirs {
		if filepath.Clean(x) == filepath.Clean(d) {
			return true
		}
	}
	return false
}

func (s *Server) mayUpload(p *Principal) bool {
	return s.cfg.Admin.PolicyUploadDir != "" && s.isOperator(p)
}

func (s *Server) policies(w http.ResponseWriter, _ *http.Request, p *Principal) {
	out := PolicyList{Policies: []PolicyFile{}, Uploadable: s.mayUpload(p),
		Builtin: "the default bundle (fail on fixable critical/high and KEV, warn on unfixed)"}
	up := filepath.Clean(s.cfg.Admin.PolicyUploadDir)
	for _, d := range s.policyDirs() {
		_ = filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".rego") || len(out.Policies) >= maxPolicyList {
				return nil
			}
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Size() <= maxPolicyView {
				b, err := os.ReadFile(path)
				if err != nil {
					return nil
				}
				out.Policies = append(out.Policies, PolicyFile{Path: path, Name: e.Name(), Source: string(b),
					Uploaded: s.cfg.Admin.PolicyUploadDir != "" && filepath.Dir(path) == up})
			}
			return nil
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// PolicyUpload is the body of POST /api/policies.
type PolicyUpload struct {
	// Name is the file name, such as no-latest.rego.
	Name   string `json:"name"`
	Module string `json:"module"`
}

// PolicyUploaded is the 201 answer.
type PolicyUploaded struct {
	Path string `json:"path"`
	// Reloaded is true when the scanners use it already; else from the
	// next start.
	Reloaded bool `json:"reloaded"`
}

func (s *Server) uploadGuard(w http.ResponseWriter, p *Principal) bool {
	switch {
	case !s.isOperator(p):
		writeError(w, http.StatusForbidden, "policies apply to every tenant: only admins of the operator tenant (--operator-tenant) upload or delete them")
		return false
	case s.cfg.Admin.PolicyUploadDir == "":
		writeError(w, http.StatusNotImplemented, "this server takes no policy uploads (start it with --policy-upload-dir), or put .rego files in a --policy directory and restart")
		return false
	}
	return true
}

// policyChangeTimeout bounds one upload or deletion: the compile check,
// the write and the reload.
const policyChangeTimeout = 30 * time.Second

// uploadPolicy writes a module into the upload directory, provided the
// policies in force still compile with it (see changePolicy).
func (s *Server) uploadPolicy(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !s.uploadGuard(w, p) {
		return
	}
	var req PolicyUpload
	if err := decodeJSON(w, r, maxPolicyView*2, &req); err != nil {
		s.requestFailed(w, err)
		return
	}
	switch {
	case !policyName.MatchString(req.Name):
		s.requestFailed(w, badRequest("name %q: want a file name such as no-latest.rego (letters, digits, '_' or '-', then .rego)", req.Name))
		return
	case strings.TrimSpace(req.Module) == "":
		s.requestFailed(w, badRequest("module: the Rego source is empty"))
		return
	case len(req.Module) > maxPolicyView:
		s.requestFailed(w, badRequest("module: larger than %d bytes", maxPolicyView))
		return
	}
	reloaded, ok := s.changePolicy(w, r, req.Name, []byte(req.Module))
	if !ok {
		return
	}
	dst := filepath.Join(s.cfg.Admin.PolicyUploadDir, req.Name)
	s.log.Info("policy uploaded", "path", dst, "bytes", len(req.Module), "reloaded", reloaded, "tenant", p.Tenant, "by", p.Subject)
	writeJSON(w, http.StatusCreated, PolicyUploaded{Path: dst, Reloaded: reloaded})
}

// deletePolicy removes an uploaded file, provided the policies left in
// force still compile without it.
func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !s.uploadGuard(w, p) {
		return
	}
	name := r.PathValue("name")
	if !policyName.MatchString(name) {
		writeError(w, http.StatusNotFound, "policy %q not found in the upload directory", name)
		return
	}
	dst := filepath.Join(s.cfg.Admin.PolicyUploadDir, name)
	if info, err := os.Lstat(dst); err != nil || !info.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, "policy %q not found in the upload directory", name)
		return
	}
	reloaded, ok := s.changePolicy(w, r, name, nil)
	if !ok {
		return
	}
	s.log.Info("policy deleted", "path", dst, "reloaded", reloaded, "tenant", p.Tenant, "by", p.Subject)
	w.WriteHeader(http.StatusNoContent)
}

// changePolicy replaces (src != nil) or removes (src == nil) the upload
// directory's file name so that the set on disk always compiles: it
// checks the new set in a copy, writes it atomically, then reloads the
// scanners' engine; if the reload refuses the set (it also holds the
// plug-ins' policies), the old file is put back and the engine in force
// stays. Changes are serialised. It answers the client itself on
// failure (422 with the problems, or 500) and then returns false.
func (s *Server) changePolicy(w http.ResponseWriter, r *http.Request, name string, src []byte) (reloaded, ok bool) {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	// A client that goes away must not leave a change half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), policyChangeTimeout)
	defer cancel()
	problems, err := s.compileWith(ctx, name, src)
	if err != nil {
		s.requestFailed(w, fmt.Errorf("check policy %s: %w", name, err))
		return false, false
	}
	if problems != nil {
		policyProblems(w, src, problems)
		return false, false
	}
	dst := filepath.Join(s.cfg.Admin.PolicyUploadDir, name)
	undo, err := replaceFile(dst, src)
	if err != nil {
		s.requestFailed(w, fmt.Errorf("policy %s: %w", dst, err))
		return false, false
	}
	if s.cfg.Admin.PolicyReload == nil {
		return false, true // in force from the next start
	}
	err = s.cfg.Admin.PolicyReload(ctx)
	if err == nil {
		return true, true
	}
	s.log.Error("policy reload refused the change: putting the old file back", "path", dst, "err", err)
	if uerr := undo(); uerr != nil {
		s.requestFailed(w, fmt.Errorf("policy %s: reload: %v; restoring the old file: %w", dst, err, uerr))
		return false, false
	}
	if policy.IsLoadError(err) {
		policyProblems(w, src, loadProblems(err, ""))
		return false, false
	}
	s.requestFailed(w, fmt.Errorf("policy %s: reload: %w", dst, err))
	return false, false
}

// policyProblems is the 422 answer to a change that leaves policies that
// do not compile.
func policyProblems(w http.ResponseWriter, src []byte, problems []string) {
	msg := "the policy does not compile with the policies in force"
	if src == nil {
		msg = "the policies left in force would not compile without this file"
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": msg, "problems": problems})
}

// replaceFile writes b to path atomically, or removes path when b is
// nil, and returns what puts the previous state back.
func replaceFile(path string, b []byte) (undo func() error, err error) {
	old, err := os.ReadFile(path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	undo = func() error {
		if existed {
			return writeFileAtomic(path, old)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if b == nil {
		return undo, os.Remove(path)
	}
	return undo, writeFileAtomic(path, b)
}

// compileWith loads the policies in force with the upload directory's
// file name replaced by src (left out when src is nil). It returns the
// problems when they do not compile, or an error when the check itself
// failed.
func (s *Server) compileWith(ctx context.Context, name string, src []byte) ([]string, error) {
	tmp, err := os.MkdirTemp("", "stella-policy-upload-")
	if err != nil {
		return nil, fmt.Errorf("policy check directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	up := s.cfg.Admin.PolicyUploadDir
	if err := copyPolicyDir(up, tmp, name); err != nil {
		return nil, err
	}
	if src != nil {
		if err := os.WriteFile(filepath.Join(tmp, name), src, 0o600); err != nil {
			return nil, fmt.Errorf("policy check copy of %s: %w", name, err)
		}
	}
	// The copy stands where the upload directory stands among the others.
	dirs := []string{}
	for _, d := range s.policyDirs() {
		if filepath.Clean(d) == filepath.Clean(up) {
			d = tmp
		}
		dirs = append(dirs, d)
	}
	_, err = policy.Load(ctx, policy.Options{Dirs: dirs, Timeout: 2 * time.Second})
	switch {
	case err == nil:
		return nil, nil
	case policy.IsLoadError(err):
		return loadProblems(err, tmp), nil
	}
	return nil, fmt.Errorf("compile policies: %w", err)
}

// loadProblems lists a *policy.LoadError's problems as file:line: text,
// with the check's temporary directory (if any) left out of the names.
func loadProblems(err error, tmp string) []string {
	var le *policy.LoadError
	if !errors.As(err, &le) {
		return []string{err.Error()}
	}
	out := make([]string, 0, len(le.Problems))
	for _, p := range le.Problems {
		line := p.String()
		if tmp != "" {
			line = strings.ReplaceAll(line, tmp+string(filepath.Separator), "")
			line = strings.ReplaceAll(line, tmp, "upload directory")
		}
		out = append(out, line)
	}
	return out
}

// copyPolicyDir copies the regular files of the upload directory (not
// skip), bounded, keeping their relative paths.
func copyPolicyDir(from, to, skip string) error {
	files, total := 0, int64(0)
	err := filepath.WalkDir(from, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == from {
				return filepath.SkipAll
			}
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if rel != "." && strings.HasPrefix(e.Name(), ".") {
			// The loader skips hidden entries (.git, temp files of an
			// upload under way); so does the copy.
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			if rel != "." {
				return os.MkdirAll(filepath.Join(to, rel), 0o700)
			}
			return nil
		}
		if rel == skip || !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		files++
		total += info.Size()
		if files > maxPolicyFiles || total > maxPolicyCopy {
			return fmt.Errorf("policy upload directory %s: more than %d files or %d bytes", from, maxPolicyFiles, maxPolicyCopy)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(filepath.Join(to, rel), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, io.LimitReader(in, info.Size()+1)); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		return fmt.Errorf("copy policy directory %s: %w", from, err)
	}
	return nil
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, synced, then renamed: readers see the old file or the new.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".upload-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
