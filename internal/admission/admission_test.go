package admission_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stella-scan/stella/internal/admission"
	_ "github.com/stella-scan/stella/internal/analyze/all"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/testutil"
)

// fixtures are the shared fixture images pushed to a registry on loopback.
type fixtures struct {
	host    string
	digests map[string]string
}

var (
	fixOnce sync.Once
	fix     fixtures
	fixErr  error
)

// pushFixtures runs go-containerregistry's registry on loopback once for
// the package and pushes debian-app and alpine-3.14-apk as :v1.
func pushFixtures(t *testing.T) fixtures {
	t.Helper()
	images := filepath.Join(testutil.SharedDir(t), "testdata", "images")
	fixOnce.Do(func() {
		reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
		srv := httptest.NewServer(reg) // closed when the test binary exits
		fix = fixtures{host: strings.TrimPrefix(srv.URL, "http://"), digests: map[string]string{}}
		for _, img := range []string{"debian-app", "alpine-3.14-apk"} {
			d, err := push(filepath.Join(images, img, "oci"), fix.host+"/fixtures/"+img+":v1")
			if err != nil {
				fixErr = err
				return
			}
			fix.digests[img] = d
		}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// push copies the first image of an OCI layout to ref (the helper of
// internal/scan/registry_test.go, for images only).
func push(ociDir, ref string) (string, error) {
	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		return "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	d := m.Manifests[0]
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return d.Digest.String(), nil
}

// scanDecider is the real thing the lead wires: scan the image, build the
// policy input, evaluate. It counts its calls.
func scanDecider(t *testing.T, calls *atomic.Int64) admission.Decider {
	t.Helper()
	eng, err := policy.Load(context.Background(), policy.Options{Dirs: []string{"testdata/policy"}})
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, image string) (admission.Decision, error) {
		calls.Add(1)
		doc, _, err := scan.SBOM(ctx, image, scan.Options{})
		if err != nil {
			return admission.Decision{}, err
		}
		in := policy.InputFrom(doc, nil, policy.Provenance{StellaVersion: "test"})
		d, err := eng.Evaluate(ctx, &in)
		if err != nil {
			return admission.Decision{}, err
		}
		dig := ""
		if doc.Image != nil {
			dig = doc.Image.Digest
		}
		return admission.Decision{Digest: dig, Policy: d}, nil
	}
}

// selfSigned writes a certificate for 127.0.0.1 and returns the files and
// a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stella-admission.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serve runs the webhook over real TLS on loopback, as `stella admission`
// does, and returns its URL and a client that trusts it.
func serve(t *testing.T, cfg admission.Config) (string, *http.Client) {
	t.Helper()
	h, err := admission.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSigned(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- admission.ListenAndServeTLS(ctx, admission.ServerConfig{Addr: addr, CertFile: certFile, KeyFile: keyFile}, h)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	base := "https://" + addr
	for i := 0; ; i++ {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			t.Fatalf("webhook not up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, client
}

// review is an AdmissionReview as kube-apiserver sends it.
func review(uid, op string, gvk [3]string, resource, namespace, name, object string) string {
	obj := ""
	if object != "" {
		obj = `,"object":` + object
	}
	return fmt.Sprintf(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":%q,"kind":{"group":%q,"version":%q,"kind":%q},"resource":{"group":%q,"version":%q,"resource":%q},"requestKind":{"group":%q,"version":%q,"kind":%q},"name":%q,"namespace":%q,"operation":%q,"userInfo":{"username":"kubernetes-admin","groups":["system:masters","system:authenticated"]}%s,"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}`,
		uid, gvk[0], gvk[1], gvk[2], gvk[0], gvk[1], resource, gvk[0], gvk[1], gvk[2], name, namespace, op, obj)
}

func podSpec(containers, inits, ephemeral []string) string {
	list := func(prefix string, images []string) string {
		var cs []string
		for i, img := range images {
			cs = append(cs, fmt.Sprintf(`{"name":"%s-%d","image":%q,"resources":{},"imagePullPolicy":"IfNotPresent"}`, prefix, i, img))
		}
		return "[" + strings.Join(cs, ",") + "]"
	}
	s := `{"containers":` + list("app", containers)
	if len(inits) > 0 {
		s += `,"initContainers":` + list("init", inits)
	}
	if len(ephemeral) > 0 {
		s += `,"ephemeralContainers":` + list("debug", ephemeral)
	}
	return s + `,"restartPolicy":"Always","dnsPolicy":"ClusterFirst"}`
}

func pod(name string, containers, inits, ephemeral []string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":"shop","labels":{"app":%q}},"spec":%s,"status":{}}`, name, name, podSpec(containers, inits, ephemeral))
}

func workload(kind, apiVersion, name string, containers, inits []string) string {
	tmpl := fmt.Sprintf(`{"metadata":{"labels":{"app":%q}},"spec":%s}`, name, podSpec(containers, inits, nil))
	spec := fmt.Sprintf(`{"replicas":2,"selector":{"matchLabels":{"app":%q}},"template":%s}`, name, tmpl)
	if kind == "CronJob" {
		spec = fmt.Sprintf(`{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":%s}}}`, tmpl)
	}
	return fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":%q,"namespace":"shop"},"spec":%s}`, apiVersion, kind, name, spec)
}

var (
	gvkPod         = [3]string{"", "v1", "Pod"}
	gvkDeployment  = [3]string{"apps", "v1", "Deployment"}
	gvkStatefulSet = [3]string{"apps", "v1", "StatefulSet"}
	gvkDaemonSet   = [3]string{"apps", "v1", "DaemonSet"}
	gvkJob         = [3]string{"batch", "v1", "Job"}
	gvkCronJob     = [3]string{"batch", "v1", "CronJob"}
	gvkConfigMap   = [3]string{"", "v1", "ConfigMap"}
)

// post sends one review and decodes the answer.
func post(t *testing.T, client *http.Client, url, body string) admission.Review {
	t.Helper()
	resp, err := client.Post(url+"/validate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s: %s", resp.Status, b)
	}
	var r admission.Review
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if r.APIVersion != admission.APIVersion || r.Kind != admission.Kind || r.Response == nil {
		t.Fatalf("not an AdmissionReview response: %s", b)
	}
	return r
}

// Real AdmissionReview requests for Pods and workloads over HTTPS on
// loopback, each image scanned from a loopback registry and decided by
// the policy.
func TestAdmissionRoundTrip(t *testing.T) {
	f := pushFixtures(t)
	debian := f.host + "/fixtures/debian-app:v1"
	alpine := f.host + "/fixtures/alpine-3.14-apk:v1"
	debianPinned := f.host + "/fixtures/debian-app@" + f.digests["debian-app"]
	var calls atomic.Int64
	url, client := serve(t, admission.Config{Decide: scanDecider(t, &calls), Timeout: 60 * time.Second})
	one := func(s ...string) []string { return s }
	cases := []struct {
		name    string
		body    string
		allowed bool
		message string // in the denial
		warning string // in a warning
	}{
		{"pod debian allowed with a warning", review("u1", "CREATE", gvkPod, "pods", "shop", "web", pod("web", one(debian), nil, nil)), true, "", "curl"},
		{"pod alpine 3.14 denied", review("u2", "CREATE", gvkPod, "pods", "shop", "old", pod("old", one(alpine), nil, nil)), false, "alpine:3.14.0 is end of life", ""},
		{"pod ephemeral container denied", review("u3", "UPDATE", gvkPod, "pods", "shop", "web", pod("web", one(debian), nil, one(alpine))), false, "ephemeralContainer debug-0", ""},
		{"deployment with an alpine init container denied", review("u4", "CREATE", gvkDeployment, "deployments", "shop", "api", workload("Deployment", "apps/v1", "api", one(debian), one(alpine))), false, "initContainer init-0", ""},
		{"deployment by digest allowed", review("u5", "CREATE", gvkDeployment, "deployments", "shop", "api", workload("Deployment", "apps/v1", "api", one(debianPinned), nil)), true, "", "curl"},
		{"statefulset denied", review("u6", "CREATE", gvkStatefulSet, "statefulsets", "shop", "db", workload("StatefulSet", "apps/v1", "db", one(alpine), nil)), false, "end of life", ""},
		{"daemonset allowed", review("u7", "UPDATE", gvkDaemonSet, "daemonsets", "shop", "agent", workload("DaemonSet", "apps/v1", "agent", one(debian), nil)), true, "", ""},
		{"job denied", review("u8", "CREATE", gvkJob, "jobs", "shop", "batch", workload("Job", "batch/v1", "batch", one(alpine), nil)), false, "end of life", ""},
		{"cronjob denied", review("u9", "CREATE", gvkCronJob, "cronjobs", "shop", "nightly", workload("CronJob", "batch/v1", "nightly", one(alpine), nil)), false, "end of life", ""},
		{"delete allowed without a scan", review("u10", "DELETE", gvkPod, "pods", "shop", "old", ""), true, "", ""},
		{"configmap not judged", review("u11", "CREATE", gvkConfigMap, "configmaps", "shop", "cfg", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"image":"evil"}}`), true, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, client, url, c.body)
			var req admission.Review
			_ = json.Unmarshal([]byte(c.body), &req)
			if r.Response.UID != req.Request.UID {
				t.Errorf("uid %q, want %q", r.Response.UID, req.Request.UID)
			}
			if r.Response.Allowed != c.allowed {
				t.Fatalf("allowed %v, want %v: %+v", r.Response.Allowed, c.allowed, r.Response.Result)
			}
			if !c.allowed && (r.Response.Result == nil || r.Response.Result.Code != 403 || !strings.Contains(r.Response.Result.Message, c.message)) {
				t.Errorf("denial %+v, want 403 with %q", r.Response.Result, c.message)
			}
			if c.warning != "" && !strings.Contains(strings.Join(r.Response.Warnings, "\n"), c.warning) {
				t.Errorf("warnings %q, want one with %q", r.Response.Warnings, c.warning)
			}
			t.Logf("allowed=%v status=%+v warnings=%q", r.Response.Allowed, r.Response.Result, r.Response.Warnings)
		})
	}
	// Each image was scanned once; every other request, the digest
	// reference of the debian image included, was answered from the cache
	// per digest.
	if n := calls.Load(); n != 2 {
		t.Errorf("%d scans, want 2 (debian and alpine)", n)
	}
}

// A decision that takes longer than the timeout: fail-open admits with a
// warning, fail-closed denies; the scan goes on and fills the cache.
func TestAdmissionTimeout(t *testing.T) {
	cases := []struct {
		name     string
		failOpen bool
		allowed  bool
		text     string
	}{
		{"fail-closed", false, false, "could not be decided within 200ms"},
		{"fail-open", true, true, "fail-open"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			var calls atomic.Int64
			slow := func(ctx context.Context, image string) (admission.Decision, error) {
				calls.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
					return admission.Decision{}, ctx.Err()
				}
				return admission.Decision{Digest: "sha256:" + strings.Repeat("a", 64), Policy: &policy.Decision{Verdict: policy.VerdictPass, Allow: true}}, nil
			}
			url, client := serve(t, admission.Config{Decide: slow, Timeout: 200 * time.Millisecond, FailOpen: c.failOpen})
			body := review("t1", "CREATE", gvkPod, "pods", "shop", "web", pod("web", []string{"registry.test/slow:1"}, nil, nil))
			t0 := time.Now()
			r := post(t, client, url, body)
			if took := time.Since(t0); took > 5*time.Second {
				t.Errorf("answered after %s", took)
			}
			if r.Response.Allowed != c.allowed {
				t.Fatalf("allowed %v, want %v", r.Response.Allowed, c.allowed)
			}
			all := strings.Join(r.Response.Warnings, "\n")
			if r.Response.Result != nil {
				all += r.Response.Result.Message
			}
			if !strings.Contains(all, c.text) {
				t.Errorf("answer %+v lacks %q", r.Response, c.text)
			}
			// The scan finishes after the request timed out; the retry is
			// answered from the cache without a second scan.
			close(release)
			deadline := time.Now().Add(5 * time.Second)
			for {
				r = post(t, client, url, body)
				if r.Response.Allowed && len(r.Response.Warnings) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("retry still undecided: %+v", r.Response)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d decider calls, want 1", n)
			}
		})
	}
}

// A failing decider (registry down, image missing) is undecided too.
func TestAdmissionDeciderError(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("failOpen=%v", failOpen), func(t *testing.T) {
			broken := func(ctx context.Context, image string) (admission.Decision, error) {
				return admission.Decision{}, fmt.Errorf("%s: MANIFEST_UNKNOWN", image)
			}
			url, client := serve(t, admission.Config{Decide: broken, FailOpen: failOpen})
			r := post(t, client, url, review("e1", "CREATE", gvkPod, "pods", "shop", "web", pod("web", []string{"registry.test/missing:1"}, nil, nil)))
			if r.Response.Allowed != failOpen {
				t.Errorf("allowed %v, want %v", r.Response.Allowed, failOpen)
			}
		})
	}
}

func TestAdmissionBadRequests(t *testing.T) {
	never := func(context.Context, string) (admission.Decision, error) {
		t.Error("decider called for a bad request")
		return admission.Decision{}, nil
	}
	url, client := serve(t, admission.Config{Decide: never})
	cases := []struct {
		name, method, ctype, body string
		status                    int
	}{
		{"get", http.MethodGet, "", "", http.StatusMethodNotAllowed},
		{"not json", http.MethodPost, "text/plain", "hello", http.StatusUnsupportedMediaType},
		{"garbage", http.MethodPost, "application/json", "{", http.StatusBadRequest},
		{"v1beta1", http.MethodPost, "application/json", strings.Replace(review("b1", "CREATE", gvkPod, "pods", "shop", "x", "{}"), "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1), http.StatusBadRequest},
		{"no request", http.MethodPost, "application/json", `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}`, http.StatusBadRequest},
		{"too large", http.MethodPost, "application/json", `{"x":"` + strings.Repeat("a", admission.MaxReviewSize) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, url+"/validate", bytes.NewBufferString(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
}
