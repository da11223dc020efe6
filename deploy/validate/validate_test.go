// Package validate checks Stella's Kubernetes manifests and Helm chart
// against the Kubernetes API: every document is decoded strictly (unknown
// or mistyped fields fail) into the official k8s.io/api types of its
// kind, then checked for what Stella's deployment promises (non-root,
// read-only root, seccomp and AppArmor, secrets as files, the webhook at
// /api/admission). It is a module of its own so that Stella's go.mod does
// not carry the Kubernetes API.
package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// documents splits a multi-document YAML file.
func documents(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func stripComments(b []byte) []byte {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// check decodes one document strictly into its kind's type and checks it.
// It returns the kind.
func check(t *testing.T, where string, doc []byte) string {
	t.Helper()
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	strict := func(v any) {
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			t.Fatalf("%s: %s %s does not match the Kubernetes schema: %v", where, meta.APIVersion, meta.Kind, err)
		}
	}
	switch meta.APIVersion + "/" + meta.Kind {
	case "v1/ServiceAccount":
		var o corev1.ServiceAccount
		strict(&o)
		if o.AutomountServiceAccountToken == nil || *o.AutomountServiceAccountToken {
			t.Errorf("%s: the service account token must not be mounted", where)
		}
	case "apps/v1/Deployment":
		var o appsv1.Deployment
		strict(&o)
		checkDeployment(t, where, &o)
	case "v1/Service":
		var o corev1.Service
		strict(&o)
		if len(o.Spec.Ports) == 0 || len(o.Spec.Selector) == 0 {
			t.Errorf("%s: service without ports or selector", where)
		}
	case "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration":
		var o admissionv1.ValidatingWebhookConfiguration
		strict(&o)
		for _, w := range o.Webhooks {
			s := w.ClientConfig.Service
			if s == nil || s.Path == nil || *s.Path != "/api/admission" {
				t.Errorf("%s: webhook %s does not call /api/admission", where, w.Name)
			}
			if w.SideEffects == nil || *w.SideEffects != admissionv1.SideEffectClassNone || len(w.AdmissionReviewVersions) == 0 || w.AdmissionReviewVersions[0] != "v1" {
				t.Errorf("%s: webhook %s: sideEffects None and AdmissionReview v1 required", where, w.Name)
			}
			if w.TimeoutSeconds == nil || *w.TimeoutSeconds > 30 || *w.TimeoutSeconds < 1 {
				t.Errorf("%s: webhook %s: timeoutSeconds must be 1-30", where, w.Name)
			}
			if len(w.Rules) == 0 || w.Name == "" || !strings.Contains(w.Name, ".") {
				t.Errorf("%s: webhook %q: a qualified name and rules are required", where, w.Name)
			}
		}
	case "networking.k8s.io/v1/NetworkPolicy":
		var o networkingv1.NetworkPolicy
		strict(&o)
		if len(o.Spec.PolicyTypes) != 2 {
			t.Errorf("%s: the network policy must restrict ingress and egress", where)
		}
	default:
		t.Fatalf("%s: unexpected kind %s %s", where, meta.APIVersion, meta.Kind)
	}
	return meta.Kind
}

func checkDeployment(t *testing.T, where string, d *appsv1.Deployment) {
	sel := d.Spec.Selector
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Fatalf("%s: deployment without a selector", where)
	}
	for k, v := range sel.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("%s: the selector %s=%s does not match the pod labels", where, k, v)
		}
	}
	ps := d.Spec.Template.Spec
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pods must run as non-root", where)
	}
	if ps.SecurityContext == nil || ps.SecurityContext.SeccompProfile == nil || ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost {
		t.Errorf("%s: the seccomp profile is not set", where)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
	}
	for _, c := range ps.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: container %s: read-only root and no privilege escalation required", where, c.Name)
		}
		if sc == nil || sc.AppArmorProfile == nil || sc.AppArmorProfile.Type != corev1.AppArmorProfileTypeLocalhost || sc.AppArmorProfile.LocalhostProfile == nil {
			t.Errorf("%s: container %s: the AppArmor profile is not set", where, c.Name)
		} else if a := d.Spec.Template.Annotations["container.apparmor.security.beta.kubernetes.io/"+c.Name]; a != "localhost/"+*sc.AppArmorProfile.LocalhostProfile {
			t.Errorf("%s: container %s: the AppArmor annotation %q does not match the field (older clusters read it)", where, c.Name, a)
		}
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() {
			t.Errorf("%s: container %s: CPU and memory limits required", where, c.Name)
		}
		for _, a := range c.Args {
			if strings.Contains(a, "secret=") || strings.HasPrefix(a, "--jwt-secret=") {
				t.Errorf("%s: container %s: a secret in a plain-text flag: %s", where, c.Name, a)
			}
		}
		for _, m := range c.VolumeMounts {
			v, ok := vols[m.Name]
			if !ok {
				t.Errorf("%s: container %s mounts unknown volume %s", where, c.Name, m.Name)
			}
			if v.Secret != nil && !m.ReadOnly {
				t.Errorf("%s: secret volume %s must be mounted read-only", where, m.Name)
			}
		}
		named := map[string]bool{}
		for _, p := range c.Ports {
			named[p.Name] = true
		}
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			if pr == nil || pr.HTTPGet == nil || !named[pr.HTTPGet.Port.String()] {
				t.Errorf("%s: container %s: probes must use a named port of the container", where, c.Name)
			}
		}
	}
}

func TestManifests(t *testing.T) {
	files, _ := filepath.Glob("../kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	kinds := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range documents(b) {
			kinds[check(t, f+"#"+string(rune('0'+i)), d)] = true
		}
	}
	for _, k := range []string{"Deployment", "Service", "ValidatingWebhookConfiguration", "NetworkPolicy"} {
		if !kinds[k] {
			t.Errorf("no %s among the manifests", k)
		}
	}
}

// render renders the chart with Helm's own engine (the chart loader,
// values coalescing with values.yaml, the template functions Helm and
// Sprig provide), as `helm template` would, for a release "stella" in
// namespace "stella". The key is the template's path in the chart.
func render(t *testing.T, values map[string]any) map[string]string {
	t.Helper()
	c, err := loader.Load("../helm/stella")
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the chart: %v", err)
	}
	vals, err := chartutil.ToRenderValues(c, values, chartutil.ReleaseOptions{Name: "stella", Namespace: "stella", IsInstall: true, Revision: 1}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	out, err := engine.Render(c, vals)
	if err != nil {
		t.Fatalf("render the chart: %v", err)
	}
	for k := range out {
		if strings.HasPrefix(filepath.Base(k), "_") || strings.HasSuffix(k, "NOTES.txt") {
			delete(out, k)
		}
	}
	return out
}

// deployment decodes the one Deployment among docs.
func deployment(t *testing.T, where string, docs [][]byte) *appsv1.Deployment {
	t.Helper()
	for _, d := range docs {
		var meta struct{ Kind string }
		if yaml.Unmarshal(d, &meta) == nil && meta.Kind == "Deployment" {
			var o appsv1.Deployment
			if err := yaml.UnmarshalStrict(d, &o); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			return &o
		}
	}
	t.Fatalf("%s: no Deployment", where)
	return nil
}

func TestHelmChart(t *testing.T) {
	kinds := map[string]bool{}
	var all [][]byte
	for f, doc := range render(t, nil) {
		for _, d := range documents([]byte(doc)) {
			kinds[check(t, f, d)] = true
			all = append(all, d)
		}
	}
	for _, k := range []string{"ServiceAccount", "Deployment", "Service", "ValidatingWebhookConfiguration", "NetworkPolicy"} {
		if !kinds[k] {
			t.Errorf("the chart renders no %s", k)
		}
	}
	// With its default values the chart runs the pod the plain manifests run.
	raw, err := os.ReadFile("../kubernetes/stella.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := deployment(t, "deploy/kubernetes", documents(raw))
	got := deployment(t, "chart", all)
	if !equality.Semantic.DeepEqual(got.Spec.Template.Spec, want.Spec.Template.Spec) {
		g, _ := yaml.Marshal(got.Spec.Template.Spec)
		w, _ := yaml.Marshal(want.Spec.Template.Spec)
		t.Errorf("the chart's pod differs from deploy/kubernetes:\n%s\nwant\n%s", g, w)
	}
	// Values are honoured: no network policy, another image tag, a CA bundle.
	out := render(t, map[string]any{
		"networkPolicy": map[string]any{"enabled": false},
		"image":         map[string]any{"tag": "v9.9.9"},
		"webhook":       map[string]any{"caBundle": "Q0E="},
	})
	for f, doc := range out {
		if strings.Contains(f, "networkpolicy") && len(strings.TrimSpace(doc)) != 0 {
			t.Errorf("networkPolicy.enabled=false still renders %s", doc)
		}
		if strings.Contains(f, "webhook") && !strings.Contains(doc, "caBundle: Q0E=") {
			t.Errorf("webhook.caBundle not rendered:\n%s", doc)
		}
		if strings.Contains(f, "deployment") && !strings.Contains(doc, "ghcr.io/stella-scan/stella:v9.9.9") {
			t.Errorf("image.tag not rendered:\n%s", doc)
		}
	}
}

func TestSecurityProfiles(t *testing.T) {
	b, err := os.ReadFile("../seccomp/stella.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		DefaultAction   string
		DefaultErrnoRet int
		Architectures   []string
		Syscalls        []struct {
			Names  []string
			Action string
		}
	}
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, s := range p.Syscalls {
		for _, n := range s.Names {
			allowed[n] = s.Action == "SCMP_ACT_ALLOW"
		}
	}
	if p.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("seccomp default %s, want SCMP_ACT_ERRNO", p.DefaultAction)
	}
	for _, n := range []string{"read", "write", "epoll_pwait", "futex", "clone", "execve", "setresuid", "prlimit64", "accept4"} {
		if !allowed[n] {
			t.Errorf("seccomp profile refuses %s, which Stella needs", n)
		}
	}
	for _, n := range []string{"ptrace", "mount", "kexec_load", "bpf", "init_module", "unshare"} {
		if allowed[n] {
			t.Errorf("seccomp profile allows %s", n)
		}
	}
	aa, err := os.ReadFile("../apparmor/stella")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"profile stella ", "deny mount", "deny ptrace", "/run/secrets/** r,"} {
		if !bytes.Contains(aa, []byte(want)) {
			t.Errorf("AppArmor profile lacks %q", want)
		}
	}
}
