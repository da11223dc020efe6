package debian

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// maxLine bounds one line of a DSA/DLA list; real lines are under 2 kB.
const maxLine = 1 << 20

var (
	// [11 Dec 2021] DSA-5020-1 apache-log4j2 - security update
	reHeader = regexp.MustCompile(`^\[(\d{1,2} [A-Za-z]{3} \d{4})\]\s+((?:DSA|DLA|DTSA)-\d+(?:-\d+)?)\s*(.*)$`)
	// [bullseye] - apache-log4j2 2.15.0-1~deb11u1
	// [lenny] - vlc <not-affected> (Vulnerable code not present)
	rePackage = regexp.MustCompile(`^\[([a-z][a-z0-9-]*)\]\s+-\s+(\S+)\s+(\S+)(?:\s+\((.*)\))?\s*$`)
)

// ListAdvisory is one entry of data/DSA/list or data/DLA/list.
type ListAdvisory struct {
	ID       string
	Date     time.Time
	Package  string // source package named in the header ("" for announcements)
	Title    string // the header after the id: "apache-log4j2 - security update"
	Refs     []string
	Packages []ListPackage
	Line     int // header line number, for messages
}

// ListPackage is one "[release] - package version" line.
type ListPackage struct {
	Release string
	Package string
	Version string // fixed version, empty when Note is set
	Note    string // not-affected, unfixed, end-of-life, no-dsa, ... (without <>)
	Comment string // text in parentheses after the version or note
}

// ListIsAdvisories reports whether data looks like a DSA/DLA list: its
// first non-empty line is an advisory header.
func ListIsAdvisories(data []byte) bool {
	for _, line := range strings.SplitN(string(data[:min(len(data), 4096)]), "\n", 20) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		return reHeader.MatchString(line)
	}
	return false
}

// ParseList reads a DSA/DLA list. Lines it does not understand (NOTE:
// lines, comments) are skipped; the count of skipped lines that look like
// data is returned so that callers can log it. An I/O error or an
// over-long line is an error naming the line.
func ParseList(r io.Reader) ([]ListAdvisory, int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var (
		out     []ListAdvisory
		cur     *ListAdvisory
		skipped int
		n       int
	)
	for sc.Scan() {
		n++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if m := reHeader.FindStringSubmatch(line); m != nil {
			out = append(out, ListAdvisory{ID: m[2], Title: strings.TrimSpace(m[3]), Line: n})
			cur = &out[len(out)-1]
			if t, err := time.Parse("2 Jan 2006", m[1]); err == nil {
				cur.Date = t
			}
			if f := strings.Fields(cur.Title); len(f) >= 2 && f[1] == "-" {
				cur.Package = f[0]
			} else if len(f) >= 1 && strings.Contains(cur.Title, " - ") {
				cur.Package = f[0]
			}
			continue
		}
		if cur == nil {
			skipped++
			continue
		}
		switch {
		case strings.HasPrefix(line, "{"):
			body := strings.TrimSuffix(strings.TrimPrefix(line, "{"), "}")
			for _, id := range strings.Fields(body) {
				cur.Refs = appendUnique(cur.Refs, id)
			}
		case strings.HasPrefix(line, "["):
			m := rePackage.FindStringSubmatch(line)
			if m == nil {
				skipped++
				continue
			}
			p := ListPackage{Release: m[1], Package: m[2], Comment: m[4]}
			if strings.HasPrefix(m[3], "<") && strings.HasSuffix(m[3], ">") {
				p.Note = strings.Trim(m[3], "<>")
			} else {
				p.Version = m[3]
			}
			cur.Packages = append(cur.Packages, p)
		case strings.HasPrefix(line, "NOTE:"):
			// Free text for humans.
		default:
			skipped++
		}
	}
	if err := sc.Err(); err != nil {
		return out, skipped, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, skipped, nil
}

// noteState maps a list note to a feed state.
func noteState(note string) string {
	switch note {
	case "":
		return feed.StateFixed
	case "not-affected":
		return feed.StateNotAffected
	case "no-dsa", "postponed":
		return feed.StateNoDSA
	case "end-of-life", "ignored":
		return feed.StateWillNotFix
	default: // unfixed, undetermined, …
		return feed.StateOpen
	}
}

// Record turns a list advisory into a feed record: the DSA/DLA id with its
// CVEs as aliases and one affected entry per release line.
func (a ListAdvisory) Record() feed.Record {
	r := feed.Record{
		ID:        a.ID,
		Source:    Name,
		Published: a.Date,
		Modified:  a.Date,
		Summary:   a.Title,
	}
	for _, ref := range a.Refs {
		if ref != a.ID {
			r.Aliases = append(r.Aliases, ref)
		}
	}
	sortCVEFirst(r.Aliases)
	for _, p := range a.Packages {
		r.Affected = append(r.Affected, feed.Affected{
			Ecosystem:    "deb",
			Package:      p.Package,
			Distro:       "debian",
			Release:      p.Release,
			FixedVersion: p.Version,
			State:        noteState(p.Note),
		})
	}
	kind := "dsa"
	if strings.HasPrefix(a.ID, "DLA-") {
		kind = "dla"
	}
	r.URLs = []string{"https://security-tracker.debian.org/tracker/" + a.ID}
	if kind == "dsa" {
		if num := strings.SplitN(strings.TrimPrefix(a.ID, "DSA-"), "-", 2)[0]; num != "" && !a.Date.IsZero() {
			r.URLs = append(r.URLs, fmt.Sprintf("https://www.debian.org/security/%d/dsa-%s", a.Date.Year(), num))
		}
	}
	return r
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// sortCVEFirst moves CVE ids to the front, keeping the order otherwise.
func sortCVEFirst(ids []string) {
	var cves, other []string
	for _, id := range ids {
		if strings.HasPrefix(id, "CVE-") {
			cves = append(cves, id)
		} else {
			other = append(other, id)
		}
	}
	copy(ids, append(cves, other...))
}

func feedLog(ctx context.Context, doc string, skipped int) {
	slog.DebugContext(ctx, "debian list: lines not understood were skipped", "doc", doc, "lines", skipped)
}
