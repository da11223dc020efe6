// Command result-sink is an example Stella plug-in (ResultSink): it
// writes each finished scan's result to a directory, one file per scan
// id, atomically, so a re-delivery overwrites rather than duplicates.
//
// Configuration (STELLA_PLUGIN_CONFIG, from result-sink.json beside the
// binary): {"dir": "/var/lib/stella/results"}
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
	"github.com/stella-scan/stella/pkg/pluginsdk"
)

var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

func main() {
	var cfg struct {
		Dir string `json:"dir"`
	}
	_ = json.Unmarshal([]byte(os.Getenv("STELLA_PLUGIN_CONFIG")), &cfg)
	pluginsdk.ServeResultSink(pluginsdk.Info{Name: "example-result-sink", Version: "1.0.0"},
		func(_ context.Context, r *pluginv1.ScanResult) (string, error) {
			if cfg.Dir == "" {
				return "", errors.New("no \"dir\" in the configuration")
			}
			if !safeID.MatchString(r.ScanId) {
				return "", errors.New("scan id is not a safe file name")
			}
			tmp, err := os.CreateTemp(cfg.Dir, ".result-*")
			if err != nil {
				return "", err
			}
			if _, err := tmp.Write(r.ResultJson); err != nil {
				tmp.Close()
				os.Remove(tmp.Name())
				return "", err
			}
			if err := tmp.Close(); err != nil {
				os.Remove(tmp.Name())
				return "", err
			}
			if err := os.Rename(tmp.Name(), filepath.Join(cfg.Dir, r.ScanId+".json")); err != nil {
				os.Remove(tmp.Name())
				return "", err
			}
			sum := sha256.Sum256(r.ResultJson)
			return "sha256:" + hex.EncodeToString(sum[:]), nil
		})
}
