package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/stella-scan/stella/internal/testutil"
)

// The container arguments of deploy/kubernetes/stella.yaml are ones
// `stella` accepts: the command exists and every flag parses (a renamed
// or mistyped flag would crash-loop the pod). Secrets are files.
func TestDeploymentArgs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "deploy", "kubernetes", "stella.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var found int
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name string
							Args []string
						}
					}
				}
			}
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Kind != "Deployment" {
			continue
		}
		for _, c := range doc.Spec.Template.Spec.Containers {
			if len(c.Args) == 0 {
				t.Fatalf("container %s: no args", c.Name)
			}
			root := newRootCmd()
			cmd, rest, err := root.Find(c.Args)
			if err != nil || cmd == root {
				t.Fatalf("container %s: %v is not a stella command: %v", c.Name, c.Args, err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("container %s: stella %s does not accept %v: %v", c.Name, cmd.Name(), rest, err)
			}
			for _, a := range rest {
				if strings.HasPrefix(a, "--jwt-secret=") || strings.Contains(a, "password=") {
					t.Errorf("container %s: a secret on the command line: %s", c.Name, a)
				}
			}
			found++
		}
	}
	if found == 0 {
		t.Fatal("no Deployment container in deploy/kubernetes/stella.yaml")
	}
}
