package policy

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"
)

// value builds the OPA value of the input directly, without a JSON round
// trip: for a scan with 1,000 findings that is most of the cost of a
// decision. It must equal what an OPA server parses from the input's
// JSON (TestInputValueMatchesJSON), so that in-process and remote
// decisions stay identical: same keys, omitempty honoured, numbers
// spelled as encoding/json spells them.
func (in *Input) value() ast.Value { return in.valueOf(nil) }

// valueOf builds only the top-level parts of the input that keys names
// (all of them when keys is nil): the engine leaves out what no loaded
// rule can read (see readsInput), so a decision by the default bundle
// does not pay for the findings and packages it never visits.
func (in *Input) valueOf(keys map[string]bool) ast.Value {
	items := make([][2]*ast.Term, 0, 5)
	add := func(k string, build func() *ast.Term) {
		if keys == nil || keys[k] {
			items = append(items, item(k, build()))
		}
	}
	add("image", in.Image.term)
	add("sbom", in.SBOM.term)
	add("findings", func() *ast.Term { return findingsTerm(in.Findings) })
	add("provenance", in.Provenance.term)
	add("summary", func() *ast.Term { return in.summary().term() })
	return ast.NewObject(items...)
}

func item(k string, v *ast.Term) [2]*ast.Term { return ast.Item(ast.InternedTerm(k), v) }

func str(s string) *ast.Term { return ast.StringTerm(s) }

// obj builds an object, leaving out the items whose value is nil (the
// omitempty fields that were empty).
func obj(items ...[2]*ast.Term) *ast.Term {
	o := ast.NewObjectWithCapacity(len(items))
	for _, it := range items {
		if it[1] != nil {
			o.Insert(it[0], it[1])
		}
	}
	return ast.NewTerm(o)
}

// omit returns nil for an empty string, for omitempty fields.
func omit(s string) *ast.Term {
	if s == "" {
		return nil
	}
	return str(s)
}

func strs(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = str(s)
	}
	return ast.ArrayTerm(ts...)
}

// num spells a float64 as encoding/json does.
func num(f float64) *ast.Term {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ast.IntNumberTerm(0) // encoding/json would fail; never scored so
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b, _ := json.Marshal(f)
		return ast.NumberTerm(json.Number(b))
	}
	return ast.NumberTerm(json.Number(strconv.FormatFloat(f, 'f', -1, 64)))
}

func (im *Image) term() *ast.Term {
	layers := make([]*ast.Term, len(im.Layers))
	for i, l := range im.Layers {
		var size *ast.Term
		if l.Size != 0 {
			size = ast.NumberTerm(json.Number(strconv.FormatInt(l.Size, 10)))
		}
		layers[i] = obj(
			item("index", ast.IntNumberTerm(l.Index)),
			item("diffID", str(l.DiffID)),
			item("digest", omit(l.Digest)),
			item("size", size),
			item("createdBy", omit(l.CreatedBy)),
		)
	}
	var sig *ast.Term
	if s := im.Signature; s != nil {
		sig = obj(
			item("required", ast.BooleanTerm(s.Required)),
			item("verified", ast.BooleanTerm(s.Verified)),
			item("key", omit(s.Key)),
			item("error", omit(s.Error)),
		)
	}
	return obj(
		item("signature", sig),
		item("name", str(im.Name)),
		item("digest", omit(im.Digest)),
		item("platform", omit(im.Platform)),
		item("layers", nullOr(im.Layers == nil, ast.ArrayTerm(layers...))),
	)
}

// nullOr stands for a nil slice, which encoding/json writes as null.
func nullOr(isNil bool, t *ast.Term) *ast.Term {
	if isNil {
		return ast.NullTerm()
	}
	return t
}

func (s *SBOM) term() *ast.Term {
	pkgs := make([]*ast.Term, len(s.Packages))
	for i, p := range s.Packages {
		pkgs[i] = obj(
			item("name", str(p.Name)),
			item("version", str(p.Version)),
			item("ecosystem", str(p.Ecosystem)),
			item("purl", omit(p.PURL)),
			item("layer", omit(p.Layer)),
		)
	}
	return obj(
		item("source", omit(s.Source)),
		item("distro", omit(s.Distro)),
		item("packages", nullOr(s.Packages == nil, ast.ArrayTerm(pkgs...))),
	)
}

func findingsTerm(fs []Finding) *ast.Term {
	if fs == nil {
		return ast.NullTerm()
	}
	ts := make([]*ast.Term, len(fs))
	for i := range fs {
		f := &fs[i]
		ts[i] = obj(
			item("id", str(f.ID)),
			item("aliases", nullOr(f.Aliases == nil, strs(f.Aliases))),
			item("package", obj(
				item("name", str(f.Package.Name)),
				item("version", str(f.Package.Version)),
				item("ecosystem", str(f.Package.Ecosystem)),
				item("purl", omit(f.Package.PURL)),
			)),
			item("installed", str(f.Installed)),
			item("fixed", nullOr(f.Fixed == nil, strs(f.Fixed))),
			item("state", str(f.State)),
			item("severity", str(f.Severity)),
			item("cvss", obj(
				item("score", num(f.CVSS.Score)),
				item("vector", str(f.CVSS.Vector)),
				item("version", str(f.CVSS.Version)),
			)),
			item("kev", ast.BooleanTerm(f.KEV)),
			item("epss", num(f.EPSS)),
			item("vex", obj(
				item("status", str(f.VEX.Status)),
				item("justification", str(f.VEX.Justification)),
			)),
		)
	}
	return ast.ArrayTerm(ts...)
}

func (p *Provenance) term() *ast.Term {
	var analyzers, plugins *ast.Term
	if len(p.Analyzers) > 0 {
		keys := sortedKeys(p.Analyzers)
		o := ast.NewObjectWithCapacity(len(keys))
		for _, k := range keys {
			o.Insert(str(k), ast.IntNumberTerm(p.Analyzers[k]))
		}
		analyzers = ast.NewTerm(o)
	}
	if len(p.Plugins) > 0 {
		keys := sortedKeys(p.Plugins)
		o := ast.NewObjectWithCapacity(len(keys))
		for _, k := range keys {
			o.Insert(str(k), str(p.Plugins[k]))
		}
		plugins = ast.NewTerm(o)
	}
	var age *ast.Term
	if p.DBAgeHours != 0 {
		age = num(p.DBAgeHours)
	}
	return obj(
		item("stellaVersion", omit(p.StellaVersion)),
		item("dbVersion", omit(p.DBVersion)),
		item("dbUpdated", omit(p.DBUpdated)),
		item("dbAgeHours", age),
		item("analyzers", analyzers),
		item("plugins", plugins),
		item("sbomSource", omit(p.SBOMSource)),
	)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Summary) term() *ast.Term {
	groups := make([]*ast.Term, len(s.Groups))
	for i := range s.Groups {
		g := &s.Groups[i]
		groups[i] = obj(
			item("severity", str(g.Severity)),
			item("fixable", ast.BooleanTerm(g.Fixable)),
			item("kev", ast.BooleanTerm(g.KEV)),
			item("vex", str(g.VEX)),
			item("state", str(g.State)),
			item("ids", nullOr(g.IDs == nil, strs(g.IDs))),
		)
	}
	var aliases *ast.Term
	if s.Aliases == nil {
		aliases = ast.NullTerm()
	} else {
		keys := sortedKeys(s.Aliases)
		o := ast.NewObjectWithCapacity(len(keys))
		for _, k := range keys {
			o.Insert(str(k), nullOr(s.Aliases[k] == nil, strs(s.Aliases[k])))
		}
		aliases = ast.NewTerm(o)
	}
	return obj(
		item("findings", ast.IntNumberTerm(s.Findings)),
		item("groups", nullOr(s.Groups == nil, ast.ArrayTerm(groups...))),
		item("aliases", aliases),
	)
}
