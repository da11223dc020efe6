package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxRemoteAnswer bounds an OPA server's answer.
const maxRemoteAnswer = 64 << 20

// Remote asks an OPA server (the sidecar form, --opa-url) for decisions
// through its REST Data API: POST /v1/data/stella/decision/result with
// {"input": …}. The server must run the bundle WriteBundle writes
// (`stella policy bundle`); then it gives the same Decisions as Engine.
type Remote struct {
	endpoint string
	client   *http.Client
	timeout  time.Duration
}

// NewRemote checks base (http://127.0.0.1:8181) and returns a client.
// client may be nil (a plain client); timeout 0 means DefaultTimeout.
func NewRemote(base string, client *http.Client, timeout time.Duration) (*Remote, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--opa-url %q: want http(s)://HOST:PORT of an OPA server", base)
	}
	if client == nil {
		client = &http.Client{}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Remote{endpoint: strings.TrimSuffix(u.String(), "/") + "/v1/data/" + DecisionPath, client: client, timeout: timeout}, nil
}

// Evaluate posts the input, with its summary, and decodes the decision.
func (r *Remote) Evaluate(ctx context.Context, in *Input) (*Decision, error) {
	withSummary := *in
	withSummary.Summary = in.summary()
	return r.decide(ctx, &withSummary)
}

// decide posts the input as it is.
func (r *Remote) decide(ctx context.Context, in *Input) (*Decision, error) {
	body, err := json.Marshal(struct {
		Input *Input `json:"input"`
	}{in})
	if err != nil {
		return nil, fmt.Errorf("policy input %s: %w", in.Image.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("OPA server %s: %w", r.endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRemoteAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("OPA server %s: %w", r.endpoint, err)
	}
	if len(b) > maxRemoteAnswer {
		return nil, fmt.Errorf("OPA server %s: answer larger than %d bytes", r.endpoint, maxRemoteAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		return nil, fmt.Errorf("OPA server %s: %s: %s %s", r.endpoint, resp.Status, e.Code, e.Message)
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, fmt.Errorf("OPA server %s: %w", r.endpoint, err)
	}
	if len(answer.Result) == 0 {
		return nil, fmt.Errorf("OPA server %s: data.stella.decision.result is undefined: load the bundle of `stella policy bundle` into the server", r.endpoint)
	}
	d, err := decodeDecisionJSON(answer.Result)
	if err != nil {
		return nil, fmt.Errorf("OPA server %s: %s: %w", r.endpoint, in.Image.Name, err)
	}
	return d, nil
}
