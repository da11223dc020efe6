// Package plugin discovers Stella's plug-ins and runs them, each in its
// own sandboxed process (internal/plugin/sandbox.go), over
// hashicorp/go-plugin's gRPC transport with the protocol of
// api/proto/stella/plugin/v1.
//
// The plug-in directory is read once, at start-up; nothing is hot-loaded.
// Every regular executable file in it is a plug-in: it is hashed
// (SHA-256), copied to a private directory so that the bytes that run are
// the bytes that were hashed, checked against the optional allow-list of
// digests, and asked what it is (name, kind, version). *.rego files in the
// directory join the policy bundle. A file NAME.json beside plug-in NAME is
// its configuration, handed to it as STELLA_PLUGIN_CONFIG.
//
// A plug-in process lives for one call: no state (one tenant's SBOM) is
// kept from one scan to the next. A call that fails, crashes, hangs past
// the time limit or runs out of its memory is reported in the result's
// provenance; the scan goes on without it.
package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stella-scan/stella/internal/report"
)

// DefaultDir is where plug-ins are looked for when no directory is given.
const DefaultDir = "/opt/stella/plugins"

// DefaultUID is the UID plug-ins run as when Stella runs as root.
const DefaultUID = 1001

// Defaults of the sandbox.
const (
	DefaultMemory      = 256 << 20
	DefaultCPUSeconds  = 30
	DefaultCallTimeout = 10 * time.Second
	maxPluginSize      = 256 << 20 // a plug-in executable
	maxConfigSize      = 64 << 10
	maxPlugins         = 64
)

// Plug-in states.
const (
	StateReady   = "ready"   // discovered, answered Describe
	StateRefused = "refused" // not on the allow-list
	StateBroken  = "broken"  // could not be started or described
)

// Config of the plug-in host.
type Config struct {
	// Dir is the plug-in directory; "" means none (no plug-ins).
	Dir string
	// Allow, when not nil, lists the SHA-256 digests (hex) of the plug-ins
	// that may run; any other is refused.
	Allow []string
	// UID plug-ins run as when Stella runs as root (DefaultUID when 0; -1
	// keeps Stella's). Ignored when Stella is not root.
	UID int
	// Memory (bytes of heap), CPUSeconds (per process) and CallTimeout
	// (per call) bound each plug-in process.
	Memory      int64
	CPUSeconds  int
	CallTimeout time.Duration
	Logger      *slog.Logger
}

// Plugin is one discovered plug-in.
type Plugin struct {
	File    string `json:"file"` // base name in the plug-in directory
	Name    string `json:"name"`
	Kind    string `json:"kind"` // sbom_mutator, vulnerability_provider, result_sink, rego
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`

	path   string // the private copy that runs
	config string
}

// Host holds the plug-ins discovered at start-up.
type Host struct {
	cfg     Config
	uid     int // -1: Stella's own
	work    string
	plugins []*Plugin
	rego    []*Plugin
	log     *slog.Logger
	mu      sync.Mutex
}

// Open reads cfg.Dir once: hashes and copies every plug-in, applies the
// allow-list and describes each one. A plug-in that cannot be described
// is kept as broken (listed, never called); only an unreadable directory
// is an error.
func Open(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Memory <= 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.CPUSeconds <= 0 {
		cfg.CPUSeconds = DefaultCPUSeconds
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.UID == 0 {
		cfg.UID = DefaultUID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Host{cfg: cfg, uid: -1, log: cfg.Logger}
	if os.Geteuid() == 0 && cfg.UID > 0 {
		h.uid = cfg.UID
	}
	if cfg.Dir == "" {
		return h, nil
	}
	entries, err := os.ReadDir(cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		h.log.Info("no plug-in directory", "dir", cfg.Dir)
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plug-in directory %s: %w", cfg.Dir, err)
	}
	if h.work, err = os.MkdirTemp("", "stella-plugins-"); err != nil {
		return nil, fmt.Errorf("plug-in work directory: %w", err)
	}
	// The sandbox UID must reach the copies, and nothing else in here.
	if err := os.Chmod(h.work, 0o711); err != nil {
		h.Close()
		return nil, err
	}
	allowed := map[string]bool{}
	for _, d := range cfg.Allow {
		allowed[strings.ToLower(strings.TrimPrefix(d, "sha256:"))] = true
	}
	for _, e := range entries {
		if len(h.plugins)+len(h.rego) >= maxPlugins {
			h.log.Warn("too many plug-ins; the rest are ignored", "dir", cfg.Dir, "max", maxPlugins)
			break
		}
		path := filepath.Join(cfg.Dir, e.Name())
		info, err := os.Stat(path) // follows a symlink to a file
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".rego") && !strings.HasSuffix(e.Name(), "_test.rego"):
			// Copied like the executables: the policy that is loaded is
			// the file that was hashed.
			p := &Plugin{File: e.Name(), Name: strings.TrimSuffix(e.Name(), ".rego"), Kind: "rego", State: StateReady}
			if err := os.MkdirAll(filepath.Join(h.work, "rego"), 0o700); err != nil {
				h.Close()
				return nil, err
			}
			p.path = filepath.Join(h.work, "rego", e.Name())
			if p.SHA256, err = hashFile(path, &p.path); err != nil {
				p.State, p.Error = StateBroken, err.Error()
			} else if cfg.Allow != nil && !allowed[p.SHA256] {
				p.State, p.Error = StateRefused, "digest not on the allow-list"
				os.Remove(p.path)
			}
			h.rego = append(h.rego, p)
		case info.Mode()&0o111 != 0:
			h.plugins = append(h.plugins, h.load(ctx, path, info, allowed))
		}
	}
	return h, nil
}

// load hashes and copies one plug-in, checks the allow-list and asks it
// what it is.
func (h *Host) load(ctx context.Context, path string, info fs.FileInfo, allowed map[string]bool) *Plugin {
	p := &Plugin{File: info.Name(), Name: info.Name(), State: StateBroken}
	if info.Size() > maxPluginSize {
		p.Error = fmt.Sprintf("%d bytes, more than the %d a plug-in may have", info.Size(), maxPluginSize)
		return p
	}
	p.path = filepath.Join(h.work, info.Name())
	sum, err := hashFile(path, &p.path)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	p.SHA256 = sum
	if h.cfg.Allow != nil && !allowed[sum] {
		p.State, p.Error = StateRefused, "digest not on the allow-list"
		h.log.Warn("plug-in refused: not on the allow-list", "file", path, "sha256", sum)
		return p
	}
	if b, err := readConfig(path + ".json"); err != nil {
		p.Error = err.Error()
		return p
	} else {
		p.config = b
	}
	inf, err := h.describe(ctx, p)
	if err != nil {
		p.Error = err.Error()
		h.log.Warn("plug-in broken", "file", path, "err", err)
		return p
	}
	p.Name, p.Kind, p.Version, p.State = inf.Name, inf.Kind, inf.Version, StateReady
	return p
}

// hashFile returns the SHA-256 of path; with copyTo, it also writes the
// bytes it hashed to *copyTo (read-only, executable), so that what runs
// is what was hashed even if the original changes.
func hashFile(path string, copyTo *string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("plug-in %s: %w", path, err)
	}
	defer f.Close()
	hs := sha256.New()
	w := io.Writer(hs)
	var out *os.File
	if copyTo != nil {
		out, err = os.OpenFile(*copyTo, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
		if err != nil {
			return "", fmt.Errorf("plug-in %s: copy: %w", path, err)
		}
		defer out.Close()
		w = io.MultiWriter(hs, out)
	}
	if _, err := io.Copy(w, io.LimitReader(f, maxPluginSize+1)); err != nil {
		return "", fmt.Errorf("plug-in %s: %w", path, err)
	}
	if out != nil {
		if err := out.Close(); err != nil {
			return "", fmt.Errorf("plug-in %s: copy: %w", path, err)
		}
		if err := os.Chmod(*copyTo, 0o555); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(hs.Sum(nil)), nil
}

func readConfig(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("plug-in configuration %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return "", fmt.Errorf("plug-in configuration %s: %w", path, err)
	}
	if len(b) > maxConfigSize {
		return "", fmt.Errorf("plug-in configuration %s: more than %d bytes", path, maxConfigSize)
	}
	return string(b), nil
}

// Plugins lists every plug-in and Rego file found, in directory order.
func (h *Host) Plugins() []Plugin {
	var out []Plugin
	for _, p := range slices.Concat(h.plugins, h.rego) {
		out = append(out, *p)
	}
	return out
}

// RegoDir is a directory holding the copies of the plug-in directory's
// policy files that may join the bundle (not refused), or "" when there
// are none.
func (h *Host) RegoDir() string {
	for _, p := range h.rego {
		if p.State == StateReady {
			return filepath.Dir(p.path)
		}
	}
	return ""
}

// Provenance is every plug-in's name, kind, version, digest and state, as
// each scan result records it.
func (h *Host) Provenance() []report.Plugin {
	out := []report.Plugin{}
	for _, p := range slices.Concat(h.plugins, h.rego) {
		out = append(out, report.Plugin{Name: p.Name, File: p.File, Kind: p.Kind, Version: p.Version, SHA256: p.SHA256, State: p.State, Error: p.Error})
	}
	return out
}

// Close removes the private copies.
func (h *Host) Close() error {
	if h == nil || h.work == "" {
		return nil
	}
	return os.RemoveAll(h.work)
}

func (h *Host) ready(kind string) []*Plugin {
	var out []*Plugin
	for _, p := range h.plugins {
		if p.State == StateReady && p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}
