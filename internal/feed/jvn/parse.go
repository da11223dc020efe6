package jvn

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// maxDoc bounds one MyJVN document.
const maxDoc = 64 << 20

// Kind of MyJVN document, told by content.
const (
	KindRSS    = "rss"    // JVNDB RSS 3.2 (data feeds, getVulnOverviewList)
	KindVULDEF = "vuldef" // getVulnDetailInfo
	KindOKA    = "oka"    // the JSON API (myjvn_feed_1.0)
	KindAlert  = "alert"  // getAlertList (Atom): alerts, no vulnerabilities
)

// Status is MyJVN's status element: paging and errors.
type Status struct {
	RetCd       string `xml:"retCd,attr"`
	ErrCd       string `xml:"errCd,attr"`
	ErrMsg      string `xml:"errMsg,attr"`
	TotalRes    int    `xml:"totalRes,attr"`
	TotalResRet int    `xml:"totalResRet,attr"`
	FirstRes    int    `xml:"firstRes,attr"`
}

// Doc is a parsed MyJVN document.
type Doc struct {
	Kind    string
	Records []feed.Record
	Status  Status
}

type rssRef struct {
	Source string `xml:"source,attr"`
	ID     string `xml:"id,attr"`
	Title  string `xml:"title,attr"`
	URL    string `xml:",chardata"`
}

type rssCVSS struct {
	Version  string `xml:"version,attr"`
	Score    string `xml:"score,attr"`
	Severity string `xml:"severity,attr"`
	Vector   string `xml:"vector,attr"`
}

type rssDoc struct {
	Items []struct {
		Title       string    `xml:"title"`
		Link        string    `xml:"link"`
		Description string    `xml:"description"`
		Identifier  string    `xml:"identifier"`
		References  []rssRef  `xml:"references"`
		CVSS        []rssCVSS `xml:"cvss"`
		Issued      string    `xml:"issued"`
		Modified    string    `xml:"modified"`
	} `xml:"item"`
	Status Status `xml:"Status"`
}

type vuldefDoc struct {
	Vulinfo []struct {
		ID   string `xml:"VulinfoID"`
		Data struct {
			Title    string `xml:"Title"`
			Overview string `xml:"VulinfoDescription>Overview"`
			CVSS     []struct {
				Version  string `xml:"version,attr"`
				Severity string `xml:"Severity"`
				Base     string `xml:"Base"`
				Vector   string `xml:"Vector"`
			} `xml:"Impact>Cvss"`
			Related []struct {
				Type string `xml:"type,attr"`
				Name string `xml:"Name"`
				ID   string `xml:"VulinfoID"`
				URL  string `xml:"URL"`
			} `xml:"Related>RelatedItem"`
			FirstPublished string `xml:"DateFirstPublished"`
			LastUpdated    string `xml:"DateLastUpdated"`
		} `xml:"VulinfoData"`
	} `xml:"Vulinfo"`
	Status Status `xml:"Status"`
}

type okaDoc struct {
	Feed struct {
		Entry []struct {
			ID         string `json:"id"`
			Title      string `json:"title"`
			Summary    string `json:"summary"`
			Link       string `json:"link"`
			Modified   string `json:"modified"`
			Created    string `json:"created"`
			Public     string `json:"public"`
			References []struct {
				URL     string `json:"url"`
				Summary string `json:"summary"`
				Source  string `json:"source"`
			} `json:"references"`
			Metrics []struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"metrics"`
			CWEs []struct {
				ID string `json:"id"`
			} `json:"cwes"`
		} `json:"entry"`
	} `json:"feed"`
	Status struct {
		RetCd       json.Number `json:"retCd"`
		ErrCd       string      `json:"errCd"`
		ErrMsg      string      `json:"errMsg"`
		TotalRes    int         `json:"totalRes"`
		TotalResRet int         `json:"totalResRet"`
		FirstRes    int         `json:"firstRes"`
	} `json:"status"`
}

// Parse reads any MyJVN document, telling its kind by content.
func Parse(r io.Reader) (*Doc, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDoc {
		return nil, fmt.Errorf("MyJVN document exceeds %d bytes", maxDoc)
	}
	head := data[:min(len(data), 4096)]
	switch {
	case feed.Sniff(data) == feed.KindJSON:
		return parseOKA(data)
	case bytes.Contains(head, []byte("<VULDEF-Document")):
		return parseVULDEF(data)
	case bytes.Contains(head, []byte("<rdf:RDF")) && bytes.Contains(head, []byte("jvn.jp/rss/mod_sec")):
		return parseRSS(data)
	case bytes.Contains(head, []byte("<feed")) && bytes.Contains(head, []byte("myjvn")):
		return &Doc{Kind: KindAlert}, nil
	}
	return nil, errors.New("not a MyJVN document (JVNDB RSS, VULDEF or MyJVN JSON)")
}

func decodeXML(data []byte, v any) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	// Not strict: MyJVN's own published data feed example has an unquoted
	// attribute (retCd= 0); a lenient parse still reads every item.
	dec.Strict = false
	// MyJVN documents are UTF-8; refuse other declared charsets clearly.
	dec.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") {
			return input, nil
		}
		return nil, fmt.Errorf("charset %s not supported", label)
	}
	return dec.Decode(v)
}

func parseRSS(data []byte) (*Doc, error) {
	var d rssDoc
	if err := decodeXML(data, &d); err != nil {
		return nil, fmt.Errorf("JVNDB RSS: %w", err)
	}
	out := &Doc{Kind: KindRSS, Status: d.Status}
	if err := d.Status.err(); err != nil {
		return out, err
	}
	for _, it := range d.Items {
		id := strings.TrimSpace(it.Identifier)
		if id == "" {
			continue
		}
		r := feed.Record{ID: id, Source: Name, Summary: it.Title, Details: strings.TrimSpace(it.Description),
			Published: parseTime(it.Issued), Modified: parseTime(it.Modified), URLs: []string{strings.TrimSpace(it.Link)}}
		for _, ref := range it.References {
			if id := strings.TrimSpace(ref.ID); strings.HasPrefix(id, "CWE-") {
				addUnique(&r.CWEs, id)
			}
			addRef(&r, ref.Source, strings.TrimSpace(ref.ID), strings.TrimSpace(ref.URL))
		}
		for _, c := range it.CVSS {
			addCVSS(&r, c.Version, c.Vector, c.Score, c.Severity)
		}
		out.Records = append(out.Records, r)
	}
	return out, nil
}

func parseVULDEF(data []byte) (*Doc, error) {
	var d vuldefDoc
	if err := decodeXML(data, &d); err != nil {
		return nil, fmt.Errorf("VULDEF: %w", err)
	}
	out := &Doc{Kind: KindVULDEF, Status: d.Status}
	if err := d.Status.err(); err != nil {
		return out, err
	}
	for _, v := range d.Vulinfo {
		id := strings.TrimSpace(v.ID)
		if id == "" {
			continue
		}
		r := feed.Record{ID: id, Source: Name, Summary: v.Data.Title, Details: strings.TrimSpace(v.Data.Overview),
			Published: parseTime(v.Data.FirstPublished), Modified: parseTime(v.Data.LastUpdated)}
		for _, rel := range v.Data.Related {
			switch rel.Type {
			case "cwe":
				addUnique(&r.CWEs, strings.TrimSpace(rel.ID))
			case "advisory":
				addRef(&r, rel.Name, strings.TrimSpace(rel.ID), strings.TrimSpace(rel.URL))
			default:
				if u := strings.TrimSpace(rel.URL); u != "" {
					addUnique(&r.URLs, u)
				}
			}
		}
		for _, c := range v.Data.CVSS {
			addCVSS(&r, c.Version, c.Vector, c.Base, c.Severity)
		}
		out.Records = append(out.Records, r)
	}
	return out, nil
}

func parseOKA(data []byte) (*Doc, error) {
	var d okaDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("MyJVN JSON: %w", err)
	}
	st := Status{RetCd: d.Status.RetCd.String(), ErrCd: d.Status.ErrCd, ErrMsg: d.Status.ErrMsg,
		TotalRes: d.Status.TotalRes, TotalResRet: d.Status.TotalResRet, FirstRes: d.Status.FirstRes}
	out := &Doc{Kind: KindOKA, Status: st}
	if d.Feed.Entry == nil && d.Status.RetCd == "" {
		return nil, errors.New("MyJVN JSON: no feed.entry nor status (not a MyJVN document)")
	}
	if err := st.err(); err != nil {
		return out, err
	}
	for _, e := range d.Feed.Entry {
		if e.ID == "" {
			continue
		}
		r := feed.Record{ID: e.ID, Source: Name, Summary: e.Title, Details: e.Summary, URLs: []string{e.Link},
			Published: parseTime(e.Public), Modified: parseTime(e.Modified)}
		if r.Published.IsZero() {
			r.Published = parseTime(e.Created)
		}
		for _, ref := range e.References {
			addRef(&r, ref.Source, ref.Summary, ref.URL)
		}
		for _, c := range e.CWEs {
			addUnique(&r.CWEs, c.ID)
		}
		for _, m := range e.Metrics {
			for _, key := range []string{"cvss_v4", "cvss_v3", "cvss_v2"} {
				var c struct {
					Version      string  `json:"version"`
					VectorString string  `json:"vectorString"`
					BaseScore    float64 `json:"baseScore"`
					BaseSeverity string  `json:"baseSeverity"`
				}
				if raw, ok := m.Content[key]; ok && json.Unmarshal(raw, &c) == nil {
					addCVSS(&r, c.Version, c.VectorString, strconv.FormatFloat(c.BaseScore, 'f', -1, 64), c.BaseSeverity)
				}
			}
		}
		out.Records = append(out.Records, r)
	}
	return out, nil
}

func (s Status) err() error {
	if s.RetCd != "" && s.RetCd != "0" {
		return fmt.Errorf("MyJVN error retCd=%s errCd=%s: %s", s.RetCd, s.ErrCd, s.ErrMsg)
	}
	return nil
}

var (
	reCVE    = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	reJVNAdv = regexp.MustCompile(`^JVN(?:VU)?#\d+$`)
)

// addRef keeps CVE and JVN ids as aliases and every URL.
func addRef(r *feed.Record, source, id, u string) {
	switch {
	case reCVE.MatchString(id):
		addUnique(&r.Aliases, id)
	case reJVNAdv.MatchString(id):
		addUnique(&r.Aliases, id)
	}
	if u != "" {
		addUnique(&r.URLs, u)
	}
}

func addCVSS(r *feed.Record, version, vector, score, severity string) {
	if vector == "" && score == "" {
		return
	}
	typ := "CVSS_V3"
	switch {
	case strings.HasPrefix(version, "2"):
		typ = "CVSS_V2"
	case strings.HasPrefix(version, "4"):
		typ = "CVSS_V4"
	}
	s := feed.Severity{Source: Name, Type: typ, Vector: vector, Label: strings.ToUpper(severity)}
	s.Score, _ = strconv.ParseFloat(strings.TrimSpace(score), 64)
	for _, x := range r.Severity {
		if x.Type == s.Type && x.Vector == s.Vector {
			return
		}
	}
	r.Severity = append(r.Severity, s)
}

func addUnique(s *[]string, v string) {
	if v == "" {
		return
	}
	for _, x := range *s {
		if x == v {
			return
		}
	}
	*s = append(*s, v)
}

// parseTime reads MyJVN dates, with or without seconds.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
