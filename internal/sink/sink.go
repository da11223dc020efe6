// Package sink delivers finished scan results to where a security team
// reads them: a JSON file per scan, Slack, Splunk's HTTP Event Collector, a
// generic webhook with an HMAC-signed body, and a RabbitMQ queue (from
// which `stella sink-worker` processes deliver to the other sinks).
//
// # Specs
//
// Sinks are given as specs, "KIND:key=value,key=value" (Parse); values
// cannot contain a comma. Secrets are read from files (Docker/Kubernetes
// secret mounts) or the environment, never from the spec:
//
//	json:dir=/var/lib/stella/results[,keep=10000][,max-bytes=1G]
//	slack:url-file=/run/secrets/slack-webhook      (else $STELLA_SLACK_WEBHOOK_URL)
//	splunk:url=https://splunk:8088[,index=main],token-file=/run/secrets/hec
//	                                               (else $STELLA_SPLUNK_HEC_TOKEN)
//	webhook:url=https://hooks.example/stella,secret-file=/run/secrets/hmac
//	                                               (else $STELLA_WEBHOOK_SECRET)
//	amqp:url-file=/run/secrets/amqp[,queue=stella.results]   (else $STELLA_AMQP_URL)
//
// # What each sink sends
//
//   - json: DIR/SCANID.json, the Delivery (scan id, tenant, result)
//     indented, written atomically (temp file, fsync, rename); rotation
//     keeps the newest `keep` files and at most `max-bytes` in total.
//   - slack: POST of {"text": …, "blocks": […]} to the incoming webhook:
//     image, verdict, counts by severity, the top five findings, KEV ids.
//     Slack answers 200 "ok"; any other answer is an error.
//   - splunk: POST URL/services/collector/event with "Authorization:
//     Splunk TOKEN" and {"time","host","source":"stella",
//     "sourcetype":"stella:scan","event":{"summary","result"}}; HEC must
//     answer {"text":"Success","code":0}.
//   - webhook: POST of the Delivery as JSON with X-Stella-Signature:
//     sha256=HEX (HMAC-SHA256 of the body with the shared secret) and
//     X-Stella-Delivery: SCANID.
//   - amqp: a persistent message (message id = scan id, type
//     stella.scan.result) on a durable queue, with publisher confirms.
//
// HTTP answers 2xx are deliveries, 429 and 5xx are retried, other 4xx are
// refusals for good (PermanentError): retrying cannot fix a bad token.
//
// # Reliability
//
// A Dispatcher spools every result to disk for every sink before it tries
// to deliver (Submit), retries with exponential backoff (bounded by
// Options.MaxBackoff) without end, and removes a spool entry only once
// its sink took it: an outage of a sink, or a crash of Stella, loses no
// result; the spool is delivered at start-up and on a timer. The spool is
// bounded (Options.MaxSpoolBytes): beyond it Submit fails with
// ErrSpoolFull and stella_sink_spool_full_total counts the refusal.
//
// `stella sink-worker` consumes the queue and calls Dispatcher.Deliver:
// a message is acknowledged only once every sink has taken it (or
// refused it for good; the refusal is kept under the spool's failed/),
// and requeued after a pause otherwise. Delivery is at least once; per
// sink, an on-disk record of delivered scan ids keeps a redelivered
// message from reaching a sink twice, and the receivers can deduplicate
// by scan id too (file name, AMQP message id, X-Stella-Delivery).
package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/report"
)

// Delivery is one finished scan for the sinks.
type Delivery struct {
	ScanID string         `json:"scanId"`
	Tenant string         `json:"tenant"`
	Result *report.Result `json:"result"`
}

// Sink takes deliveries. Deliver returns nil once the receiver has the
// result; an error wrapped with Permanent is not retried.
type Sink interface {
	Name() string
	Deliver(ctx context.Context, d Delivery) error
}

// PermanentError marks a refusal that a retry cannot fix (a 400, a bad
// token): the entry is set aside in the spool's failed/ directory.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// maxSpec bounds a spec string.
const maxSpec = 4096

// Parse builds a sink from its spec (see the package documentation).
func Parse(spec string) (Sink, error) {
	if len(spec) > maxSpec {
		return nil, fmt.Errorf("sink spec: longer than %d bytes", maxSpec)
	}
	kind, rest, _ := strings.Cut(spec, ":")
	opts := map[string]string{}
	if rest != "" {
		for _, kv := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("sink %q: %q is not key=value", kind, kv)
			}
			if _, dup := opts[k]; dup {
				return nil, fmt.Errorf("sink %q: %s given twice", kind, k)
			}
			opts[k] = v
		}
	}
	var (
		s   Sink
		err error
	)
	allowed := map[string][]string{
		"json":    {"dir", "keep", "max-bytes"},
		"slack":   {"url-file"},
		"splunk":  {"url", "token-file", "index"},
		"webhook": {"url", "secret-file"},
		"amqp":    {"url-file", "queue"},
	}
	keys, ok := allowed[kind]
	if !ok {
		return nil, fmt.Errorf("sink %q: unknown kind (json, slack, splunk, webhook, amqp)", kind)
	}
	for k := range opts {
		if !contains(keys, k) {
			return nil, fmt.Errorf("sink %s: unknown option %q (known: %s)", kind, k, strings.Join(keys, ", "))
		}
	}
	switch kind {
	case "json":
		s, err = newJSONFile(opts)
	case "slack":
		s, err = newSlack(opts)
	case "splunk":
		s, err = newSplunk(opts)
	case "webhook":
		s, err = newWebhook(opts)
	case "amqp":
		s, err = newAMQP(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", kind, err)
	}
	return s, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// secret reads a secret from the file an option names, else from env.
func secret(opts map[string]string, fileKey, env string) (string, error) {
	if f := opts[fileKey]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s: %w", fileKey, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s %s: empty", fileKey, f)
		}
		return s, nil
	}
	if s := os.Getenv(env); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("give %s=FILE or set $%s", fileKey, env)
}

// summary is the short form of a result the chat sinks show.
type summary struct {
	ScanID     string         `json:"scanId"`
	Tenant     string         `json:"tenant"`
	Target     string         `json:"target"`
	Digest     string         `json:"digest,omitempty"`
	Verdict    string         `json:"verdict"`
	Reasons    []string       `json:"reasons,omitempty"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"bySeverity"`
	KEV        []string       `json:"kev,omitempty"`
	Top        []string       `json:"top,omitempty"`
}

var sevRank = map[string]int{"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}

func summarize(d Delivery) summary {
	r := d.Result
	s := summary{ScanID: d.ScanID, Tenant: d.Tenant, BySeverity: map[string]int{}}
	if r == nil {
		return s
	}
	s.Target, s.Verdict, s.Findings = r.Target, r.Policy.Decision, len(r.Findings)
	if r.Image != nil {
		s.Digest = r.Image.Digest
	}
	if len(r.Policy.Reasons) > 5 {
		s.Reasons = append(r.Policy.Reasons[:5:5], fmt.Sprintf("… and %d more", len(r.Policy.Reasons)-5))
	} else {
		s.Reasons = r.Policy.Reasons
	}
	type top struct {
		rank int
		line string
	}
	var tops []top
	for _, f := range r.Findings {
		s.BySeverity[f.Severity.Label]++
		if f.KEV != nil && len(s.KEV) < 10 {
			s.KEV = append(s.KEV, f.ID)
		}
		rank, ok := sevRank[f.Severity.Label]
		if !ok {
			rank = 9
		}
		tops = append(tops, top{rank, fmt.Sprintf("%s %s in %s %s", f.Severity.Label, f.ID, f.Package.Name, f.InstalledVersion)})
	}
	sort.SliceStable(tops, func(i, j int) bool { return tops[i].rank < tops[j].rank })
	for i := 0; i < len(tops) && i < 5; i++ {
		s.Top = append(s.Top, tops[i].line)
	}
	return s
}

// ErrSpoolFull is returned by Submit when the spool holds its limit.
var ErrSpoolFull = errors.New("sink spool is full")
