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
	b := &builder{strings: map[string]*ast.Term{}}
	items := make([][2]*ast.Term, 0, 5)
	add := func(k string, build func() *ast.Term) {
		if keys == nil || keys[k] {
			items = append(items, item(ast.InternedTerm(k), build()))
		}
	}
	add("image", func() *ast.Term { return in.Image.term(b) })
	add("sbom", func() *ast.Term { return in.SBOM.term(b) })
	add("findings", func() *ast.Term { return b.findings(in.Findings) })
	add("provenance", func() *ast.Term { return in.Provenance.term(b) })
	add("summary", func() *ast.Term { return in.summary().term(b) })
	return ast.NewObject(items...)
}

// The input's keys, made once: a lookup per item would cost as much as
// the rest of building a finding.
var (
	keyAliases       = ast.StringTerm("aliases")
	keyAnalyzers     = ast.StringTerm("analyzers")
	keyCreatedBy     = ast.StringTerm("createdBy")
	keyCvss          = ast.StringTerm("cvss")
	keyDbAgeHours    = ast.StringTerm("dbAgeHours")
	keyDbUpdated     = ast.StringTerm("dbUpdated")
	keyDbVersion     = ast.StringTerm("dbVersion")
	keyDiffID        = ast.StringTerm("diffID")
	keyDigest        = ast.StringTerm("digest")
	keyDistro        = ast.StringTerm("distro")
	keyEcosystem     = ast.StringTerm("ecosystem")
	keyEpss          = ast.StringTerm("epss")
	keyError         = ast.StringTerm("error")
	keyFindings      = ast.StringTerm("findings")
	keyFixable       = ast.StringTerm("fixable")
	keyFixed         = ast.StringTerm("fixed")
	keyGroups        = ast.StringTerm("groups")
	keyId            = ast.StringTerm("id")
	keyIds           = ast.StringTerm("ids")
	keyIndex         = ast.StringTerm("index")
	keyInstalled     = ast.StringTerm("installed")
	keyJustification = ast.StringTerm("justification")
	keyKev           = ast.StringTerm("kev")
	keyKey           = ast.StringTerm("key")
	keyLayer         = ast.StringTerm("layer")
	keyLayers        = ast.StringTerm("layers")
	keyName          = ast.StringTerm("name")
	keyPackage       = ast.StringTerm("package")
	keyPackages      = ast.StringTerm("packages")
	keyPlatform      = ast.StringTerm("platform")
	keyPlugins       = ast.StringTerm("plugins")
	keyPurl          = ast.StringTerm("purl")
	keyRequired      = ast.StringTerm("required")
	keySbomSource    = ast.StringTerm("sbomSource")
	keyScore         = ast.StringTerm("score")
	keySeverity      = ast.StringTerm("severity")
	keySignature     = ast.StringTerm("signature")
	keySize          = ast.StringTerm("size")
	keySource        = ast.StringTerm("source")
	keyState         = ast.StringTerm("state")
	keyStatus        = ast.StringTerm("status")
	keyStellaVersion = ast.StringTerm("stellaVersion")
	keyVector        = ast.StringTerm("vector")
	keyVerified      = ast.StringTerm("verified")
	keyVersion       = ast.StringTerm("version")
	keyVex           = ast.StringTerm("vex")
)

func item(k, v *ast.Term) [2]*ast.Term { return ast.Item(k, v) }

// builder builds one input's value. Findings repeat the same strings
// (severities, package names, versions, vectors), so each distinct string
// becomes one term, shared: OPA never changes a ground term in place, as
// its own interned terms show.
type builder struct {
	strings map[string]*ast.Term
}

func (b *builder) str(s string) *ast.Term {
	if t, ok := b.strings[s]; ok {
		return t
	}
	t := ast.StringTerm(s)
	b.strings[s] = t
	return t
}

// obj builds an object in one allocation, leaving out the items whose
// value is nil (the omitempty fields that were empty).
func obj(items ...[2]*ast.Term) *ast.Term {
	kept := items[:0]
	for _, it := range items {
		if it[1] != nil {
			kept = append(kept, it)
		}
	}
	return ast.NewTerm(ast.NewObject(kept...))
}

// omit returns nil for an empty string, for omitempty fields.
func (b *builder) omit(s string) *ast.Term {
	if s == "" {
		return nil
	}
	return b.str(s)
}

func (b *builder) strs(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = b.str(s)
	}
	return ast.ArrayTerm(ts...)
}

// ids is strs for strings that rarely repeat (finding ids, aliases): a
// term each, without the lookup.
func ids(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(ts...)
}

// num spells a float64 as encoding/json does.
func num(f float64) *ast.Term {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ast.InternedTerm(0) // encoding/json would fail; never scored so
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b, _ := json.Marshal(f)
		return ast.NumberTerm(json.Number(b))
	}
	return ast.NumberTerm(json.Number(strconv.FormatFloat(f, 'f', -1, 64)))
}

func (im *Image) term(b *builder) *ast.Term {
	layers := make([]*ast.Term, len(im.Layers))
	for i, l := range im.Layers {
		var size *ast.Term
		if l.Size != 0 {
			size = ast.NumberTerm(json.Number(strconv.FormatInt(l.Size, 10)))
		}
		layers[i] = obj(
			item(keyIndex, ast.InternedTerm(l.Index)),
			item(keyDiffID, b.str(l.DiffID)),
			item(keyDigest, b.omit(l.Digest)),
			item(keySize, size),
			item(keyCreatedBy, b.omit(l.CreatedBy)),
		)
	}
	var sig *ast.Term
	if s := im.Signature; s != nil {
		sig = obj(
			item(keyRequired, ast.InternedTerm(s.Required)),
			item(keyVerified, ast.InternedTerm(s.Verified)),
			item(keyKey, b.omit(s.Key)),
			item(keyError, b.omit(s.Error)),
		)
	}
	return obj(
		item(keySignature, sig),
		item(keyName, b.str(im.Name)),
		item(keyDigest, b.omit(im.Digest)),
		item(keyPlatform, b.omit(im.Platform)),
		item(keyLayers, nullOr(im.Layers == nil, ast.ArrayTerm(layers...))),
	)
}

// nullOr stands for a nil slice, which encoding/json writes as null.
func nullOr(isNil bool, t *ast.Term) *ast.Term {
	if isNil {
		return ast.NullTerm()
	}
	return t
}

func (s *SBOM) term(b *builder) *ast.Term {
	pkgs := make([]*ast.Term, len(s.Packages))
	for i, p := range s.Packages {
		pkgs[i] = obj(
			item(keyName, b.str(p.Name)),
			item(keyVersion, b.str(p.Version)),
			item(keyEcosystem, b.str(p.Ecosystem)),
			item(keyPurl, b.omit(p.PURL)),
			item(keyLayer, b.omit(p.Layer)),
		)
	}
	return obj(
		item(keySource, b.omit(s.Source)),
		item(keyDistro, b.omit(s.Distro)),
		item(keyPackages, nullOr(s.Packages == nil, ast.ArrayTerm(pkgs...))),
	)
}

func (b *builder) findings(fs []Finding) *ast.Term {
	if fs == nil {
		return ast.NullTerm()
	}
	ts := make([]*ast.Term, len(fs))
	for i := range fs {
		f := &fs[i]
		ts[i] = obj(
			item(keyId, ast.StringTerm(f.ID)),
			item(keyAliases, nullOr(f.Aliases == nil, ids(f.Aliases))),
			item(keyPackage, obj(
				item(keyName, b.str(f.Package.Name)),
				item(keyVersion, b.str(f.Package.Version)),
				item(keyEcosystem, b.str(f.Package.Ecosystem)),
				item(keyPurl, b.omit(f.Package.PURL)),
			)),
			item(keyInstalled, b.str(f.Installed)),
			item(keyFixed, nullOr(f.Fixed == nil, b.strs(f.Fixed))),
			item(keyState, b.str(f.State)),
			item(keySeverity, b.str(f.Severity)),
			item(keyCvss, obj(
				item(keyScore, num(f.CVSS.Score)),
				item(keyVector, b.str(f.CVSS.Vector)),
				item(keyVersion, b.str(f.CVSS.Version)),
			)),
			item(keyKev, ast.InternedTerm(f.KEV)),
			item(keyEpss, num(f.EPSS)),
			item(keyVex, obj(
				item(keyStatus, b.str(f.VEX.Status)),
				item(keyJustification, b.str(f.VEX.Justification)),
			)),
		)
	}
	return ast.ArrayTerm(ts...)
}

func (p *Provenance) term(b *builder) *ast.Term {
	var analyzers, plugins *ast.Term
	if len(p.Analyzers) > 0 {
		keys := sortedKeys(p.Analyzers)
		o := ast.NewObjectWithCapacity(len(keys))
		for _, k := range keys {
			o.Insert(b.str(k), ast.InternedTerm(p.Analyzers[k]))
		}
		analyzers = ast.NewTerm(o)
	}
	if len(p.Plugins) > 0 {
		keys := sortedKeys(p.Plugins)
		o := ast.NewObjectWithCapacity(len(keys))
		for _, k := range keys {
			o.Insert(b.str(k), b.str(p.Plugins[k]))
		}
		plugins = ast.NewTerm(o)
	}
	var age *ast.Term
	if p.DBAgeHours != 0 {
		age = num(p.DBAgeHours)
	}
	return obj(
		item(keyStellaVersion, b.omit(p.StellaVersion)),
		item(keyDbVersion, b.omit(p.DBVersion)),
		item(keyDbUpdated, b.omit(p.DBUpdated)),
		item(keyDbAgeHours, age),
		item(keyAnalyzers, analyzers),
		item(keyPlugins, plugins),
		item(keySbomSource, b.omit(p.SBOMSource)),
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

func (s *Summary) term(b *builder) *ast.Term {
	groups := make([]*ast.Term, len(s.Groups))
	for i := range s.Groups {
		g := &s.Groups[i]
		groups[i] = obj(
			item(keySeverity, b.str(g.Severity)),
			item(keyFixable, ast.InternedTerm(g.Fixable)),
			item(keyKev, ast.InternedTerm(g.KEV)),
			item(keyVex, b.str(g.VEX)),
			item(keyState, b.str(g.State)),
			item(keyIds, nullOr(g.IDs == nil, ids(g.IDs))),
		)
	}
	var aliases *ast.Term
	if s.Aliases == nil {
		aliases = ast.NullTerm()
	} else {
		keys := sortedKeys(s.Aliases)
		o := ast.NewObjectWithCapacity(len(keys))
		for _, k := range keys {
			o.Insert(ast.StringTerm(k), nullOr(s.Aliases[k] == nil, ids(s.Aliases[k])))
		}
		aliases = ast.NewTerm(o)
	}
	return obj(
		item(keyFindings, ast.InternedTerm(s.Findings)),
		item(keyGroups, nullOr(s.Groups == nil, ast.ArrayTerm(groups...))),
		item(keyAliases, aliases),
	)
}
