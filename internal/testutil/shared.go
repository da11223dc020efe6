// Package testutil holds helpers for tests that read the shared test data
// (../shared next to the repository root).
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, found by walking up from
// the test's working directory (the package directory under go test).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// SharedDir returns the shared data directory (../shared beside the
// repository root), as a path relative to the test's working directory.
// The test fails when it does not exist.
func SharedDir(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	shared := filepath.Join(root, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "testdata")); err != nil {
		t.Fatalf("shared test data not found at %s: %v", shared, err)
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, shared); err == nil {
			return rel
		}
	}
	return shared
}

// FeedsDir returns ../shared/testdata/feeds, the real feed documents.
func FeedsDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(SharedDir(t), "testdata", "feeds")
}
