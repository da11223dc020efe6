package python

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/analyze/lang/license"
	"github.com/stella-scan/stella/internal/sbom"
)

// Bounds on the header block of a METADATA / PKG-INFO file.
const (
	maxHeaderLines = 20000
	maxLine        = 1 << 20
)

// ParseMetadata reads the core metadata of an installed distribution
// (METADATA, PKG-INFO): Name, Version, and the licence from
// License-Expression, License or the "License ::" classifiers. Only the
// header block is read; the description body is skipped.
func ParseMetadata(r io.Reader) (*sbom.Package, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var (
		name, version, licExpr, licText string
		classifiers                     []string
		last                            *string
		lines                           int
	)
	for {
		line, err := readLine(br)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("metadata line %d: %w", lines+1, err)
		}
		if line == "" && err == io.EOF {
			break
		}
		lines++
		if lines > maxHeaderLines {
			return nil, fmt.Errorf("metadata: more than %d header lines", maxHeaderLines)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break // end of headers; the body is the description
		}
		if line[0] == ' ' || line[0] == '\t' {
			// continuation of the previous field (multi-line License text)
			if last != nil {
				*last += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			if lines == 1 {
				return nil, errors.New("metadata: not a header block")
			}
			last = nil
			continue
		}
		v = strings.TrimSpace(v)
		last = nil
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			name = v
		case "version":
			version = v
		case "license-expression":
			licExpr = v
		case "license":
			licText = v
			last = &licText
		case "classifier":
			if strings.HasPrefix(v, "License ::") {
				classifiers = append(classifiers, v)
			}
		}
		if err == io.EOF {
			break
		}
	}
	if name == "" || version == "" {
		return nil, errors.New("metadata: no Name or Version field")
	}
	p := newPackage(name, version, SourceInstalled)
	p.Licenses = metadataLicenses(licExpr, licText, classifiers)
	return &p, nil
}

// metadataLicenses prefers the PEP 639 expression, then a recognisable
// License field, then classifiers, then the License text as written.
func metadataLicenses(expr, text string, classifiers []string) []string {
	if n := license.Normalize(expr); n != "" {
		return []string{n}
	}
	if license.Recognised(text) {
		return []string{license.Normalize(text)}
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range classifiers {
		if id := license.FromClassifier(c); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) > 0 {
		return out
	}
	if n := license.Normalize(text); n != "" {
		return []string{n}
	}
	return nil
}

// readLine reads one line, refusing lines longer than maxLine.
func readLine(br *bufio.Reader) (string, error) {
	var buf bytes.Buffer
	for {
		frag, err := br.ReadSlice('\n')
		if buf.Len()+len(frag) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		buf.Write(frag)
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf.String(), err
	}
}
