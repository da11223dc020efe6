package report

import (
	_ "embed"
	"html/template"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/match"
)

//go:embed html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower":      strings.ToLower,
	"join":       strings.Join,
	"label":      func(f match.Finding) string { return label(&f) },
	"status":     func(f match.Finding) string { return status(&f) },
	"vulnerable": func(f match.Finding) bool { return f.Vulnerable() },
	"url":        func(id string) template.URL { return template.URL(advisoryURL(id)) },
	"severities": func() []string { return match.SeverityOrder },
}).Parse(htmlTemplate))

// HTML writes a self-contained page (inline CSS, no script, no external
// asset): summary, provenance, and the findings grouped by package, each
// with its evidence.
func HTML(w io.Writer, r *Result) error {
	return htmlPage.Execute(w, struct {
		*Result
		Groups []packageGroup
	}{r, groups(r.Findings)})
}
