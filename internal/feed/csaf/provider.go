package csaf

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// ProviderMetadata is a CSAF provider-metadata.json.
type ProviderMetadata struct {
	CanonicalURL    string `json:"canonical_url"`
	MetadataVersion string `json:"metadata_version"`
	Role            string `json:"role"`
	LastUpdated     string `json:"last_updated"`
	Publisher       struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"publisher"`
	Distributions []struct {
		DirectoryURL string `json:"directory_url"`
		Rolie        *struct {
			Feeds []struct {
				URL      string `json:"url"`
				TLPLabel string `json:"tlp_label"`
			} `json:"feeds"`
		} `json:"rolie"`
	} `json:"distributions"`
	PublicOpenPGPKeys []struct {
		Fingerprint string `json:"fingerprint"`
		URL         string `json:"url"`
	} `json:"public_openpgp_keys"`
}

// ParseProviderMetadata reads provider-metadata.json.
func ParseProviderMetadata(r io.Reader) (*ProviderMetadata, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSmall+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSmall {
		return nil, fmt.Errorf("provider metadata exceeds %d bytes", maxSmall)
	}
	var m ProviderMetadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("provider metadata JSON: %w", err)
	}
	if m.MetadataVersion == "" || m.CanonicalURL == "" {
		return nil, errors.New("not a CSAF provider metadata document: metadata_version or canonical_url missing")
	}
	return &m, nil
}

// maxSmall bounds listings, checksums, keys and metadata.
const maxSmall = 16 << 20

// rolieFeed is a ROLIE feed as CSAF providers publish it.
type rolieFeed struct {
	Feed struct {
		Entry []struct {
			ID      string `json:"id"`
			Updated string `json:"updated"`
			Link    []struct {
				Rel  string `json:"rel"`
				Href string `json:"href"`
			} `json:"link"`
			Content struct {
				Src string `json:"src"`
			} `json:"content"`
		} `json:"entry"`
	} `json:"feed"`
}

// errNotFound marks a document that does not exist (HTTP 404, no file).
var errNotFound = errors.New("not found")

// store reads documents by URL: over HTTP, or from a mirror directory
// where the URL's path is mapped below a root.
type store interface {
	get(ctx context.Context, u string, max int64) (data []byte, where string, err error)
}

type httpStore struct {
	src    feed.Source
	client *feed.Client
	// from/to rewrite the provider's origin ("https://host") to another
	// (a local proxy or test server given as Source.BaseURL).
	from, to string
}

func (s httpStore) get(ctx context.Context, u string, max int64) ([]byte, string, error) {
	if s.from != "" && strings.HasPrefix(u, s.from+"/") {
		u = s.to + strings.TrimPrefix(u, s.from)
	}
	resp, err := s.client.Get(ctx, u, nil, nil)
	if err != nil {
		var he *feed.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			return nil, u, fmt.Errorf("%s: %w", u, errNotFound)
		}
		return nil, u, err
	}
	if int64(len(resp.Body)) > max {
		return nil, u, fmt.Errorf("%s: %d bytes, more than the limit of %d", u, len(resp.Body), max)
	}
	return resp.Body, u, nil
}

// mirrorStore maps a URL to root + (URL path without prefix).
type mirrorStore struct {
	root   string
	prefix string // URL path prefix that root stands for ("/" usually)
}

func (s mirrorStore) local(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("URL %q: %w", u, err)
	}
	p := path.Clean("/" + pu.Path)
	if s.prefix != "/" && strings.HasPrefix(p, s.prefix) {
		p = "/" + strings.TrimPrefix(p, s.prefix)
	}
	// Clean of a rooted path cannot climb above it: the file stays in root.
	return filepath.Join(s.root, filepath.FromSlash(path.Clean(p))), nil
}

func (s mirrorStore) get(ctx context.Context, u string, max int64) ([]byte, string, error) {
	p, err := s.local(u)
	if err != nil {
		return nil, u, err
	}
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, p, fmt.Errorf("%s: %w", p, errNotFound)
	}
	if err != nil {
		return nil, p, err
	}
	if !st.Mode().IsRegular() {
		return nil, p, fmt.Errorf("%s is not a regular file", p)
	}
	if st.Size() > max {
		return nil, p, fmt.Errorf("%s: %d bytes, more than the limit of %d", p, st.Size(), max)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, p, err
	}
	defer f.Close()
	data, _, err := feed.Decompress(f, max)
	return data, p, err
}

// provider reads one provider's advisories through a store.
type provider struct {
	name    string // connector name for problems and records
	src     feed.Source
	st      store
	since   time.Time
	out     chan<- feed.Record
	seen    map[string]bool
	visited map[string]bool // documents read, by where (mirror path or URL)
	records func(*Document) []feed.Record
}

// origin is "scheme://host" of u.
func origin(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return ""
	}
	return pu.Scheme + "://" + pu.Host
}

// run reads the provider described by md.
func (p *provider) run(ctx context.Context, md *ProviderMetadata) error {
	var keys Keyring
	for _, k := range md.PublicOpenPGPKeys {
		data, where, err := p.st.get(ctx, k.URL, maxSmall)
		if err == nil {
			err = keys.AddKey(data, k.Fingerprint)
		}
		if err != nil {
			p.src.Report(ctx, p.name, where, fmt.Errorf("provider key: %w", err))
		}
	}
	for _, d := range md.Distributions {
		if d.DirectoryURL != "" {
			if err := p.directory(ctx, d.DirectoryURL, &keys); err != nil {
				return err
			}
		}
		if d.Rolie != nil {
			for _, f := range d.Rolie.Feeds {
				if err := p.rolie(ctx, f.URL, &keys); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// directory reads a directory distribution: changes.csv (with times, so
// that since applies) and index.txt (all files); either may be missing.
func (p *provider) directory(ctx context.Context, dirURL string, keys *Keyring) error {
	base := strings.TrimRight(dirURL, "/") + "/"
	files := map[string]time.Time{}
	var order []string
	add := func(rel string, t time.Time) {
		rel = strings.TrimSpace(rel)
		if rel == "" || strings.Contains(rel, "..") {
			return
		}
		cur, ok := files[rel]
		if !ok {
			order = append(order, rel)
		}
		if !ok || t.After(cur) {
			files[rel] = t
		}
	}
	listed := false
	if data, where, err := p.st.get(ctx, base+"changes.csv", maxSmall); err == nil {
		listed = true
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			p.src.Report(ctx, p.name, where, fmt.Errorf("changes.csv: %w", err))
		}
		for _, row := range rows {
			if len(row) >= 2 {
				t, _ := time.Parse(time.RFC3339Nano, strings.TrimSpace(row[1]))
				add(row[0], t)
			}
		}
	} else if !errors.Is(err, errNotFound) {
		p.src.Report(ctx, p.name, where, err)
	}
	if data, where, err := p.st.get(ctx, base+"index.txt", maxSmall); err == nil {
		listed = true
		for _, line := range strings.Split(string(data), "\n") {
			add(line, time.Time{})
		}
	} else if !errors.Is(err, errNotFound) {
		p.src.Report(ctx, p.name, where, err)
	}
	if !listed {
		p.src.Report(ctx, p.name, base, errors.New("directory distribution has neither changes.csv nor index.txt"))
		return nil
	}
	for _, rel := range order {
		if t := files[rel]; !p.since.IsZero() && !t.IsZero() && t.Before(p.since) {
			continue
		}
		u := base + rel
		if err := p.document(ctx, u, []string{u + ".sha256", u + ".sha512"}, u+".asc", keys); err != nil {
			return err
		}
	}
	return nil
}

// rolie reads a ROLIE feed; entries name their document, hash and signature.
func (p *provider) rolie(ctx context.Context, feedURL string, keys *Keyring) error {
	data, where, err := p.st.get(ctx, feedURL, maxSmall)
	if err != nil {
		p.src.Report(ctx, p.name, where, fmt.Errorf("ROLIE feed: %w", err))
		return nil
	}
	p.visited[where] = true
	var f rolieFeed
	if err := json.Unmarshal(data, &f); err != nil {
		p.src.Report(ctx, p.name, where, fmt.Errorf("ROLIE feed JSON: %w", err))
		return nil
	}
	for _, e := range f.Feed.Entry {
		if t := Time(e.Updated); !p.since.IsZero() && !t.IsZero() && t.Before(p.since) {
			continue
		}
		doc, sig := e.Content.Src, ""
		var hashes []string
		for _, l := range e.Link {
			switch l.Rel {
			case "self":
				if doc == "" {
					doc = l.Href
				}
			case "hash":
				hashes = append(hashes, l.Href)
			case "signature":
				sig = l.Href
			}
		}
		if doc == "" {
			p.src.Report(ctx, p.name, where, fmt.Errorf("ROLIE entry %q names no document", e.ID))
			continue
		}
		if len(hashes) == 0 {
			hashes = []string{doc + ".sha256", doc + ".sha512"}
		}
		if sig == "" {
			sig = doc + ".asc"
		}
		if err := p.document(ctx, doc, hashes, sig, keys); err != nil {
			return err
		}
	}
	return nil
}

// document reads, verifies and sends one advisory. A missing document, a
// checksum mismatch or a bad signature is a problem and the document is
// skipped; a missing checksum or signature is a problem but the document
// is still read.
func (p *provider) document(ctx context.Context, u string, hashURLs []string, sigURL string, keys *Keyring) error {
	data, where, err := p.st.get(ctx, u, MaxDoc)
	if errors.Is(err, errNotFound) {
		p.src.Report(ctx, p.name, where, errors.New("listed by the provider but absent"))
		return nil
	}
	if err != nil {
		p.src.Report(ctx, p.name, where, err)
		return nil
	}
	if p.visited[where] {
		return nil
	}
	p.visited[where] = true
	checked := 0
	for _, h := range hashURLs {
		algo := strings.TrimPrefix(path.Ext(h), ".")
		if algo != "sha256" && algo != "sha512" {
			continue
		}
		sum, sumWhere, err := p.st.get(ctx, h, maxSmall)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err == nil {
			err = CheckHash(data, u, sum, algo)
		}
		if err != nil {
			p.src.Report(ctx, p.name, where, fmt.Errorf("checksum %s: %w", sumWhere, err))
			return nil
		}
		checked++
	}
	if checked == 0 {
		p.src.Report(ctx, p.name, where, errors.New("no .sha256 or .sha512 checksum published; read unverified"))
	}
	sig, sigWhere, err := p.st.get(ctx, sigURL, maxSmall)
	switch {
	case errors.Is(err, errNotFound):
		p.src.Report(ctx, p.name, where, errors.New("no .asc signature published; read unsigned"))
	case err != nil:
		p.src.Report(ctx, p.name, sigWhere, err)
		return nil
	case keys.Len() == 0:
		p.src.Report(ctx, p.name, where, errors.New("signature not checked: the provider lists no usable OpenPGP key"))
	default:
		if _, err := keys.Verify(data, sig); err != nil {
			p.src.Report(ctx, p.name, where, err)
			return nil
		}
	}
	return p.emit(ctx, where, data)
}

// emit parses a CSAF document and sends its records.
func (p *provider) emit(ctx context.Context, where string, data []byte) error {
	d, err := Parse(bytes.NewReader(data))
	if err != nil {
		p.src.Report(ctx, p.name, where, err)
		return nil
	}
	digest, now := feed.Digest(data), time.Now().UTC()
	for _, r := range p.records(d) {
		if p.seen[r.ID] {
			continue
		}
		p.seen[r.ID] = true
		if !p.since.IsZero() && !r.Modified.IsZero() && r.Modified.Before(p.since) {
			continue
		}
		r.DocURL, r.DocDigest, r.FetchedAt = where, digest, now
		if err := feed.Send(ctx, p.out, r); err != nil {
			return err
		}
	}
	return nil
}
