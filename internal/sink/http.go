package sink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// httpClient is shared by the HTTP sinks: bounded time, no redirects to
// somewhere else with our secrets.
var httpClient = &http.Client{
	Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

func checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("url %q: want http(s)://HOST/…", redactURL(raw))
	}
	return raw, nil
}

// redactURL keeps the scheme and host of a URL whose path may be a secret
// (a Slack webhook URL is one).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// post sends body and classifies the answer: 2xx is delivered, 429 and
// 5xx are retried, other 4xx are permanent.
func post(ctx context.Context, target string, body []byte, hdr http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stella-sink")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", redactURL(target), scrub(err, target))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return b, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, fmt.Errorf("POST %s: %s: %s", redactURL(target), resp.Status, trim(b))
	default:
		return nil, Permanent(fmt.Errorf("POST %s: %s: %s", redactURL(target), resp.Status, trim(b)))
	}
}

// scrub removes a secret URL from an error text.
func scrub(err error, target string) error {
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), target, redactURL(target)))
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Slack posts a summary to an incoming webhook: `text` (the fallback and
// notification) and Block Kit `blocks`.
type Slack struct{ url string }

func newSlack(opts map[string]string) (*Slack, error) {
	u, err := secret(opts, "url-file", "STELLA_SLACK_WEBHOOK_URL")
	if err != nil {
		return nil, err
	}
	if _, err := checkURL(u); err != nil {
		return nil, err
	}
	return &Slack{url: u}, nil
}

// NewSlack is a Slack sink for the webhook URL (tests, wiring).
func NewSlack(webhookURL string) *Slack { return &Slack{url: webhookURL} }

func (s *Slack) Name() string { return "slack" }

func (s *Slack) Deliver(ctx context.Context, d Delivery) error {
	sm := summarize(d)
	icon := map[string]string{"fail": ":red_circle:", "warn": ":large_yellow_circle:", "pass": ":large_green_circle:"}[sm.Verdict]
	text := fmt.Sprintf("%s Stella: %s is *%s* — %d findings (%d critical, %d high)", icon, sm.Target, strings.ToUpper(sm.Verdict),
		sm.Findings, sm.BySeverity["CRITICAL"], sm.BySeverity["HIGH"])
	// Block Kit bounds a section's text to 3000 characters and a context
	// element's to 2000; an image name or a finding comes from the image.
	section := func(t string) map[string]any {
		return map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": clip(t, 3000)}}
	}
	blocks := []map[string]any{section(text)}
	if len(sm.Top) > 0 {
		blocks = append(blocks, section("• "+strings.Join(sm.Top, "\n• ")))
	}
	if len(sm.KEV) > 0 {
		blocks = append(blocks, section("*Known exploited (CISA KEV):* "+strings.Join(sm.KEV, ", ")))
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]string{{"type": "mrkdwn", "text": clip(fmt.Sprintf("scan %s · tenant %s · %s", sm.ScanID, sm.Tenant, sm.Digest), 2000)}}})
	text = clip(text, 3000)
	body, err := json.Marshal(map[string]any{"text": text, "blocks": blocks})
	if err != nil {
		return Permanent(err)
	}
	b, err := post(ctx, s.url, body, http.Header{})
	if err != nil {
		return err
	}
	// Slack answers "ok"; anything else is its error text.
	if strings.TrimSpace(string(b)) != "ok" {
		return Permanent(fmt.Errorf("slack answered %q", trim(b)))
	}
	return nil
}

// Splunk sends each result as an event to the HTTP Event Collector.
type Splunk struct {
	url, token, index, host string
}

func newSplunk(opts map[string]string) (*Splunk, error) {
	base, err := checkURL(opts["url"])
	if err != nil {
		return nil, err
	}
	tok, err := secret(opts, "token-file", "STELLA_SPLUNK_HEC_TOKEN")
	if err != nil {
		return nil, err
	}
	return NewSplunk(base, tok, opts["index"]), nil
}

// NewSplunk is a HEC sink at base (https://host:8088; a URL that already
// ends in /services/collector/event is used as it is). Tokens with indexer
// acknowledgement turned on are not supported (HEC then wants a channel).
func NewSplunk(base, token, index string) *Splunk {
	host, _ := os.Hostname()
	if host == "" {
		host = "stella"
	}
	u := strings.TrimSuffix(base, "/")
	if !strings.HasSuffix(u, "/services/collector/event") {
		u += "/services/collector/event"
	}
	return &Splunk{url: u, token: token, index: index, host: host}
}

func (s *Splunk) Name() string { return "splunk" }

func (s *Splunk) Deliver(ctx context.Context, d Delivery) error {
	ev := map[string]any{
		"time":       float64(time.Now().UnixMilli()) / 1000,
		"host":       s.host,
		"source":     "stella",
		"sourcetype": "stella:scan",
		"event":      map[string]any{"summary": summarize(d), "result": d.Result},
	}
	if s.index != "" {
		ev["index"] = s.index
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return Permanent(err)
	}
	b, err := post(ctx, s.url, body, http.Header{"Authorization": {"Splunk " + s.token}})
	if err != nil {
		return err
	}
	var ans struct {
		Text string `json:"text"`
		Code *int   `json:"code"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.Code == nil {
		return fmt.Errorf("splunk HEC: unexpected answer %q", trim(b))
	}
	if *ans.Code != 0 {
		return Permanent(fmt.Errorf("splunk HEC: code %d: %s", *ans.Code, ans.Text))
	}
	return nil
}

// Webhook posts the whole result with an HMAC-SHA256 signature of the
// body in X-Stella-Signature ("sha256=HEX"), and the scan id in
// X-Stella-Delivery so that the receiver can drop a redelivery.
type Webhook struct {
	url    string
	secret []byte
}

func newWebhook(opts map[string]string) (*Webhook, error) {
	u, err := checkURL(opts["url"])
	if err != nil {
		return nil, err
	}
	sec, err := secret(opts, "secret-file", "STELLA_WEBHOOK_SECRET")
	if err != nil {
		return nil, err
	}
	return NewWebhook(u, []byte(sec)), nil
}

// NewWebhook is a webhook sink.
func NewWebhook(target string, secret []byte) *Webhook { return &Webhook{url: target, secret: secret} }

func (w *Webhook) Name() string { return "webhook" }

// Sign is the X-Stella-Signature value of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (w *Webhook) Deliver(ctx context.Context, d Delivery) error {
	body, err := json.Marshal(d)
	if err != nil {
		return Permanent(err)
	}
	_, err = post(ctx, w.url, body, http.Header{
		"X-Stella-Signature": {Sign(w.secret, body)},
		"X-Stella-Delivery":  {d.ScanID},
	})
	return err
}
