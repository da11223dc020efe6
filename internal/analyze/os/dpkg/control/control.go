// Package control reads Debian control data: the RFC 822-like stanzas of
// dpkg's status file, distroless status.d/ files, and Packages/Sources
// indexes. Every reader is bounded (line length, fields per stanza, bytes
// per stanza) so hostile input cannot make it allocate without limit.
package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what one Reader accepts. Zero fields take the defaults.
type Limits struct {
	MaxLine        int // bytes in one physical line
	MaxFields      int // fields in one stanza
	MaxStanzaBytes int // bytes in one stanza (values and continuation lines)
}

// DefaultLimits are far above real dpkg data: the longest status lines
// (Depends/Breaks of libc6, Provides of large metapackages) are a few KiB,
// and a stanza with a long Conffiles list stays under 100 KiB.
var DefaultLimits = Limits{MaxLine: 1 << 20, MaxFields: 256, MaxStanzaBytes: 16 << 20}

// Field is one "Name: value" pair. Continuation lines are kept in Value,
// joined with "\n" and with their leading space removed (a "." line stays
// "." as in the source).
type Field struct {
	Name  string
	Value string
}

// Stanza is one paragraph: its fields in file order.
type Stanza struct {
	Fields []Field
	Line   int // 1-based line number of its first field
}

// Get returns the value of the first field named name (case-insensitive,
// as Debian field names are), and whether it was present.
func (s *Stanza) Get(name string) (string, bool) {
	for i := range s.Fields {
		if strings.EqualFold(s.Fields[i].Name, name) {
			return s.Fields[i].Value, true
		}
	}
	return "", false
}

// Value is Get without the presence flag.
func (s *Stanza) Value(name string) string {
	v, _ := s.Get(name)
	return v
}

// ErrLimit is wrapped by the errors a Reader returns when input exceeds its Limits.
var ErrLimit = errors.New("control data exceeds limit")

// Reader returns the stanzas of control data one at a time.
type Reader struct {
	br   *bufio.Reader
	lim  Limits
	line int
	err  error
}

// NewReader reads control data from r with limits lim (zero fields take
// DefaultLimits' values).
func NewReader(r io.Reader, lim Limits) *Reader {
	if lim.MaxLine <= 0 {
		lim.MaxLine = DefaultLimits.MaxLine
	}
	if lim.MaxFields <= 0 {
		lim.MaxFields = DefaultLimits.MaxFields
	}
	if lim.MaxStanzaBytes <= 0 {
		lim.MaxStanzaBytes = DefaultLimits.MaxStanzaBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), lim: lim}
}

// readLine returns the next physical line without its line ending. It
// returns io.EOF only when no byte is left.
func (r *Reader) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf)+len(chunk) > r.lim.MaxLine+1 {
			return nil, fmt.Errorf("line %d: longer than %d bytes: %w", r.line+1, r.lim.MaxLine, ErrLimit)
		}
		if err == bufio.ErrBufferFull {
			buf = append(buf, chunk...)
			continue
		}
		if buf != nil {
			chunk = append(buf, chunk...)
		}
		if err == io.EOF {
			if len(chunk) == 0 {
				return nil, io.EOF
			}
			err = nil
		}
		if err != nil {
			return nil, err
		}
		r.line++
		chunk = bytes.TrimSuffix(chunk, []byte("\n"))
		chunk = bytes.TrimSuffix(chunk, []byte("\r"))
		return chunk, nil
	}
}

// Next returns the next stanza, or io.EOF after the last one. Blank lines
// (including lines of only spaces and tabs) separate stanzas; lines starting
// with '#' outside a field are comments. Malformed input yields an error
// naming the line.
func (r *Reader) Next() (*Stanza, error) {
	if r.err != nil {
		return nil, r.err
	}
	var st *Stanza
	size := 0
	var cont strings.Builder // continuation lines of the last field
	flush := func() {
		if cont.Len() > 0 && st != nil && len(st.Fields) > 0 {
			f := &st.Fields[len(st.Fields)-1]
			f.Value += cont.String()
			cont.Reset()
		}
	}
	for {
		line, err := r.readLine()
		if err == io.EOF {
			if st == nil {
				r.err = io.EOF
				return nil, io.EOF
			}
			flush()
			return st, nil
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			if st != nil {
				flush()
				return st, nil
			}
			continue
		}
		size += len(line) + 1
		if size > r.lim.MaxStanzaBytes {
			r.err = fmt.Errorf("line %d: stanza longer than %d bytes: %w", r.line, r.lim.MaxStanzaBytes, ErrLimit)
			return nil, r.err
		}
		if line[0] == ' ' || line[0] == '\t' {
			if st == nil || len(st.Fields) == 0 {
				r.err = fmt.Errorf("line %d: continuation line outside a field", r.line)
				return nil, r.err
			}
			cont.WriteByte('\n')
			cont.Write(line[1:])
			continue
		}
		if line[0] == '#' && st == nil {
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			r.err = fmt.Errorf("line %d: %q is not a \"Field: value\" line", r.line, truncate(line))
			return nil, r.err
		}
		name := bytes.TrimSpace(line[:i])
		if len(name) == 0 || bytes.ContainsAny(name, " \t") {
			r.err = fmt.Errorf("line %d: bad field name %q", r.line, truncate(line[:i]))
			return nil, r.err
		}
		flush()
		if st == nil {
			st = &Stanza{Line: r.line}
		}
		if len(st.Fields) >= r.lim.MaxFields {
			r.err = fmt.Errorf("line %d: more than %d fields in one stanza: %w", r.line, r.lim.MaxFields, ErrLimit)
			return nil, r.err
		}
		st.Fields = append(st.Fields, Field{Name: string(name), Value: string(bytes.TrimSpace(line[i+1:]))})
	}
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
