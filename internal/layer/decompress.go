package layer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Blob is a compressed (or plain) layer stream with the digest it must have.
type Blob struct {
	R      io.Reader
	Digest string // "sha256:…"; empty: not verified
}

// stream inflates a layer blob by its magic bytes (gzip, zstd, or a plain
// tar), verifies the blob digest once the stream is drained, and enforces
// the size and ratio limits on the inflated bytes.
type stream struct {
	lim      Limits
	counted  *countingReader // compressed bytes
	hasher   hash.Hash
	digest   string
	dec      io.Reader
	closer   func()
	inflated int64
}

func newStream(b Blob, lim Limits) (*stream, error) {
	s := &stream{lim: lim, digest: b.Digest}
	src := b.R
	if b.Digest != "" {
		s.hasher = sha256.New()
		src = io.TeeReader(src, s.hasher)
	}
	s.counted = &countingReader{r: src}
	br := bufio.NewReaderSize(s.counted, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(true)
		s.dec, s.closer = zr, func() { zr.Close() }
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		s.dec, s.closer = zr, zr.Close
	default:
		s.dec, s.closer = br, func() {}
	}
	return s, nil
}

func (s *stream) Read(p []byte) (int, error) {
	n, err := s.dec.Read(p)
	s.inflated += int64(n)
	if s.inflated > s.lim.MaxLayerSize {
		return n, &LimitError{What: "uncompressed layer size", Limit: s.lim.MaxLayerSize, Got: s.inflated, Flag: "--max-layer-size"}
	}
	if s.inflated > s.lim.RatioFloor && s.counted.n > 0 && s.inflated/s.counted.n > s.lim.MaxRatio {
		return n, &LimitError{What: "compression ratio (decompression bomb?)", Limit: s.lim.MaxRatio, Got: s.inflated / s.counted.n, Flag: "--max-compression-ratio"}
	}
	return n, err
}

// finish drains what the tar reader left (padding, trailing blocks) and
// checks the blob digest.
func (s *stream) finish() error {
	if _, err := io.Copy(io.Discard, s); err != nil {
		return err
	}
	// Anything after the compressed stream still belongs to the blob.
	if _, err := io.Copy(io.Discard, s.counted); err != nil {
		return err
	}
	if s.hasher != nil {
		got := "sha256:" + hex.EncodeToString(s.hasher.Sum(nil))
		if got != s.digest {
			return fmt.Errorf("blob digest mismatch: manifest says %s, content is %s", s.digest, got)
		}
	}
	return nil
}

func (s *stream) close() { s.closer() }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
