package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Client is the HTTP client every connector uses for the real endpoints.
//
//   - Retries: 403, 429, 5xx, connection errors and truncated bodies are
//     retried up to MaxRetries times with exponential backoff and jitter
//     (MinBackoff doubling up to MaxBackoff). A Retry-After header (seconds
//     or an HTTP date) is honoured, capped at MaxBackoff*4 so that a hostile
//     server cannot park a sync for hours. NVD answers 403 when its rate
//     limit is hit, hence 403 is retried too.
//   - Rate limit: with Interval > 0 requests start at least Interval apart
//     (NVD: 6 s without an API key, 0.6 s with one).
//   - Bounds: a body larger than MaxBody is an error, never truncated data.
//     A body shorter than its Content-Length is retried.
//   - Validators: with Source.Validators, If-None-Match / If-Modified-Since
//     are sent and a 304 comes back as Response.NotModified.
//
// A Client is safe for concurrent use.
type Client struct {
	HTTP       *http.Client
	UserAgent  string
	MaxBody    int64
	MaxRetries int
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Interval   time.Duration

	mu   sync.Mutex
	last time.Time
}

// Default client settings.
const (
	DefaultMaxBody    = 1 << 30 // 1 GiB: osv.dev's largest all.zip is a few hundred MB
	DefaultMaxRetries = 5
	DefaultUserAgent  = "stella-feedmerge/1 (+https://github.com/stella-scan/stella)"
)

// NewClient returns a client with the defaults above, 1 s initial backoff
// capped at 60 s, and a 5-minute overall timeout per attempt.
func NewClient() *Client {
	return &Client{
		HTTP:       &http.Client{Timeout: 5 * time.Minute},
		UserAgent:  DefaultUserAgent,
		MaxBody:    DefaultMaxBody,
		MaxRetries: DefaultMaxRetries,
		MinBackoff: time.Second,
		MaxBackoff: time.Minute,
	}
}

// Response is a whole, verified HTTP body.
type Response struct {
	URL          string
	Status       int
	Header       http.Header
	Body         []byte
	Digest       string // sha256:… of Body
	NotModified  bool   // 304 to a conditional request; Body is empty
	ETag         string
	LastModified string
}

// HTTPError is a final non-2xx answer.
type HTTPError struct {
	URL    string
	Status int
	Body   string // first bytes of the body, for the message
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	switch {
	case e.Status == http.StatusForbidden || e.Status == http.StatusTooManyRequests:
		msg += " (rate limited: wait, or use an API key / a mirror with --mirror)"
	case e.Status == http.StatusNotFound:
		msg += " (check the source URL)"
	}
	return msg
}

// retryable reports whether a status deserves another attempt.
func retryable(status int) bool {
	return status == http.StatusForbidden || status == http.StatusTooManyRequests ||
		status == http.StatusRequestTimeout || status >= 500
}

// Get fetches url with the given extra headers, retrying as documented on
// Client. v may be nil; with v, conditional headers are sent and the new
// validators recorded.
func (c *Client) Get(ctx context.Context, url string, header http.Header, v *Validators) (*Response, error) {
	var lastErr error
	backoff := c.minBackoff()
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}
		resp, wait, err := c.once(ctx, url, header, v)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var he *HTTPError
		if errors.As(err, &he) && !retryable(he.Status) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt >= c.maxRetries() {
			break
		}
		if wait <= 0 {
			wait = backoff + time.Duration(rand.Int64N(int64(backoff)/2+1))
			backoff = min(backoff*2, c.maxBackoff())
		}
		slog.WarnContext(ctx, "feed fetch retry", "url", url, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return nil, fmt.Errorf("GET %s: giving up after %d attempts: %w", url, c.maxRetries()+1, lastErr)
}

// once is one attempt. It returns the Retry-After wait when the server set one.
func (c *Client) once(ctx context.Context, url string, header http.Header, v *Validators) (*Response, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	req.Header.Set("User-Agent", c.userAgent())
	for k, vals := range header {
		for _, val := range vals {
			req.Header.Add(k, val)
		}
	}
	if v != nil {
		if etag, lm := v.Get(url); etag != "" || lm != "" {
			if etag != "" {
				req.Header.Set("If-None-Match", etag)
			}
			if lm != "" {
				req.Header.Set("If-Modified-Since", lm)
			}
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	defer res.Body.Close()
	wait := retryAfter(res.Header.Get("Retry-After"), 4*c.maxBackoff())
	if res.StatusCode == http.StatusNotModified {
		return &Response{URL: url, Status: res.StatusCode, Header: res.Header, NotModified: true,
			ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified")}, 0, nil
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(res.Body, 200))
		return nil, wait, &HTTPError{URL: url, Status: res.StatusCode, Body: printable(snippet)}
	}
	max := c.maxBody()
	if res.ContentLength > max {
		return nil, 0, &HTTPError{URL: url, Status: res.StatusCode,
			Body: fmt.Sprintf("body of %d bytes exceeds the limit of %d", res.ContentLength, max)}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: reading body after %d bytes: %w", url, len(body), err)
	}
	if int64(len(body)) > max {
		// Not retryable: the server sends more than we accept.
		return nil, 0, &HTTPError{URL: url, Status: http.StatusRequestEntityTooLarge,
			Body: fmt.Sprintf("body exceeds the limit of %d bytes", max)}
	}
	if res.ContentLength >= 0 && int64(len(body)) != res.ContentLength {
		return nil, 0, fmt.Errorf("GET %s: truncated body: %d of %d bytes", url, len(body), res.ContentLength)
	}
	r := &Response{URL: url, Status: res.StatusCode, Header: res.Header, Body: body, Digest: Digest(body),
		ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified")}
	if v != nil {
		v.Set(url, r.ETag, r.LastModified)
	}
	return r, 0, nil
}

// wait enforces Interval between request starts.
func (c *Client) wait(ctx context.Context) error {
	if c.Interval <= 0 {
		return nil
	}
	c.mu.Lock()
	next := c.last.Add(c.Interval)
	now := time.Now()
	if next.Before(now) {
		next = now
	}
	c.last = next
	c.mu.Unlock()
	d := time.Until(next)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return DefaultUserAgent
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

func (c *Client) maxRetries() int {
	if c.MaxRetries >= 0 {
		return c.MaxRetries
	}
	return DefaultMaxRetries
}

func (c *Client) minBackoff() time.Duration {
	if c.MinBackoff > 0 {
		return c.MinBackoff
	}
	return time.Second
}

func (c *Client) maxBackoff() time.Duration {
	if c.MaxBackoff > 0 {
		return c.MaxBackoff
	}
	return time.Minute
}

// retryAfter parses a Retry-After value (delay seconds or HTTP date),
// capped at limit. Zero means none.
func retryAfter(v string, limit time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d < 0 {
		return 0
	}
	return min(d, limit)
}

// printable keeps an error snippet readable.
func printable(b []byte) string {
	out := make([]rune, 0, len(b))
	for _, r := range string(b) {
		if r < 0x20 || r == 0xFFFD {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

// Digest returns "sha256:<hex>" of b, the document digest kept as provenance.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Validators remembers ETag and Last-Modified per URL between syncs. The
// vulndb stores them per source; safe for concurrent use.
type Validators struct {
	mu sync.Mutex
	m  map[string][2]string
}

// NewValidators returns validators preloaded from a map URL -> [ETag, Last-Modified].
func NewValidators(m map[string][2]string) *Validators {
	v := &Validators{m: map[string][2]string{}}
	for k, x := range m {
		v.m[k] = x
	}
	return v
}

// Get returns the ETag and Last-Modified recorded for url.
func (v *Validators) Get(url string) (etag, lastModified string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x := v.m[url]
	return x[0], x[1]
}

// Set records validators for url; empty values remove the entry.
func (v *Validators) Set(url, etag, lastModified string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string][2]string{}
	}
	if etag == "" && lastModified == "" {
		delete(v.m, url)
		return
	}
	v.m[url] = [2]string{etag, lastModified}
}

// Map returns a copy of every recorded validator.
func (v *Validators) Map() map[string][2]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string][2]string, len(v.m))
	for k, x := range v.m {
		out[k] = x
	}
	return out
}
