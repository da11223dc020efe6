package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/feed"
)

// Linking groups records into advisories, one per vulnerability:
//
//  1. A record whose id or aliases include CVE ids belongs to the advisory
//     of each of those CVEs (a DSA fixing three CVEs belongs to three
//     advisories). CVE ids are never merged with each other.
//  2. Its other ids (GHSA-…, GO-…, DSA-…) become aliases of those CVEs.
//  3. A record without any CVE joins the advisory of any of its ids that
//     step 2 made an alias; otherwise records sharing ids form a group
//     keyed by its GHSA id if it has one, else its smallest id.
//
// The advisory table, aliases and the context severities are rebuilt from
// the records after every sync, so the result never depends on the order
// in which sources arrived.

type linkRec struct {
	rid       int64
	source    string
	ids       []string // own id first, then aliases
	kind      string
	withdrawn bool
	published string
	modified  string
	summary   string
	cwes      []string
	best      *Severity
}

func isCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }

func link(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT rid, source, id, aliases, kind, withdrawn, coalesce(published,''), coalesce(modified,''),
		coalesce(json_extract(body, '$.Summary'), ''), coalesce(json_extract(body, '$.CWEs'), 'null') FROM record ORDER BY rid`)
	if err != nil {
		return err
	}
	var recs []*linkRec
	byRID := map[int64]*linkRec{}
	for rows.Next() {
		var (
			r             linkRec
			id, al, cwesJ string
		)
		if err := rows.Scan(&r.rid, &r.source, &id, &al, &r.kind, &r.withdrawn, &r.published, &r.modified, &r.summary, &cwesJ); err != nil {
			rows.Close()
			return err
		}
		var aliases []string
		_ = json.Unmarshal([]byte(al), &aliases)
		_ = json.Unmarshal([]byte(cwesJ), &r.cwes)
		r.ids = append([]string{id}, aliases...)
		recs = append(recs, &r)
		byRID[r.rid] = &r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Each record's own best severity.
	srows, err := tx.QueryContext(ctx, `SELECT rid, coalesce(source,''), coalesce(type,''), coalesce(vector,''), coalesce(score,0), coalesce(label,'') FROM severity ORDER BY rid, rowid`)
	if err != nil {
		return err
	}
	sevs := map[int64][]feed.Severity{}
	for srows.Next() {
		var (
			rid int64
			s   feed.Severity
		)
		if err := srows.Scan(&rid, &s.Source, &s.Type, &s.Vector, &s.Score, &s.Label); err != nil {
			srows.Close()
			return err
		}
		sevs[rid] = append(sevs[rid], s)
	}
	srows.Close()
	for rid, ss := range sevs {
		if r := byRID[rid]; r != nil {
			if b, ok := bestOfRecord(r.source, r.kind, ss); ok {
				r.best = &b
			}
		}
	}

	// Steps 1 and 2.
	advOf := make(map[*linkRec][]string, len(recs))
	aliasCVE := map[string][]string{}
	var noCVE []*linkRec
	for _, r := range recs {
		var cves []string
		for _, id := range r.ids {
			if isCVE(id) {
				cves = appendUniq(cves, id)
			}
		}
		if len(cves) == 0 {
			noCVE = append(noCVE, r)
			continue
		}
		advOf[r] = cves
		for _, id := range r.ids {
			if !isCVE(id) {
				for _, c := range cves {
					aliasCVE[id] = appendUniq(aliasCVE[id], c)
				}
			}
		}
	}
	// Step 3: union-find over the ids of records without a CVE.
	parent := map[string]string{}
	find := func(x string) string {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, r := range noCVE {
		for _, id := range r.ids {
			if _, ok := parent[id]; !ok {
				parent[id] = id
			}
		}
		for _, id := range r.ids[1:] {
			a, b := find(r.ids[0]), find(id)
			if a != b {
				parent[b] = a
			}
		}
	}
	groups := map[string][]string{}
	for id := range parent {
		root := find(id)
		groups[root] = append(groups[root], id)
	}
	groupAdv := map[string][]string{}
	for root, ids := range groups {
		var cves []string
		for _, id := range ids {
			for _, c := range aliasCVE[id] {
				cves = appendUniq(cves, c)
			}
		}
		if len(cves) > 0 {
			groupAdv[root] = cves
			continue
		}
		sort.Strings(ids)
		key := ids[0]
		for _, id := range ids {
			if strings.HasPrefix(id, "GHSA-") {
				key = id
				break
			}
		}
		groupAdv[root] = []string{key}
	}
	for _, r := range noCVE {
		advOf[r] = groupAdv[find(r.ids[0])]
	}

	// Advisories: members, aliases, aggregated fields.
	type adv struct {
		recs    []*linkRec
		aliases []string
	}
	advs := map[string]*adv{}
	for _, r := range recs {
		for _, a := range advOf[r] {
			ad := advs[a]
			if ad == nil {
				ad = &adv{}
				advs[a] = ad
			}
			ad.recs = append(ad.recs, r)
			for _, id := range r.ids {
				if id != a && (!isCVE(id) || !isCVE(a)) {
					ad.aliases = appendUniq(ad.aliases, id)
				}
			}
		}
	}
	for _, q := range []string{`DELETE FROM record_advisory`, `DELETE FROM alias`, `DELETE FROM advisory`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	insAdv, err := tx.PrepareContext(ctx, `INSERT INTO advisory(id, summary, published, modified, withdrawn, severity, score, vector, severity_source, cwes) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer insAdv.Close()
	insRA, err := tx.PrepareContext(ctx, `INSERT INTO record_advisory(advisory, rid, severity, score, vector, severity_source) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer insRA.Close()
	insAlias, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO alias(alias, advisory) VALUES (?,?)`)
	if err != nil {
		return err
	}
	defer insAlias.Close()
	summaryOrder := map[string]int{KindEcosystem: 0, KindNVD: 1, KindDistro: 2, KindOther: 3}
	ids := make([]string, 0, len(advs))
	for id := range advs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		ad := advs[id]
		byKind := map[string][]Severity{}
		var (
			summary, pub, mod string
			sumRank           = 99
			withdrawn         = true
			cwes              []string
		)
		for _, r := range ad.recs {
			if r.best != nil {
				byKind[r.kind] = append(byKind[r.kind], *r.best)
			}
			if r.summary != "" && summaryOrder[r.kind] < sumRank {
				summary, sumRank = r.summary, summaryOrder[r.kind]
			}
			if r.published != "" && (pub == "" || r.published < pub) {
				pub = r.published
			}
			if r.modified > mod {
				mod = r.modified
			}
			withdrawn = withdrawn && r.withdrawn
			for _, c := range r.cwes {
				cwes = appendUniq(cwes, c)
			}
		}
		sort.Strings(cwes)
		sev := choose(advisoryOrder, nil, byKind)
		if _, err := insAdv.ExecContext(ctx, id, summary, nullable(pub), nullable(mod), withdrawn, nullable(sev.Label), sev.Score, nullable(sev.Vector), nullable(sev.Source), jsonText(cwes)); err != nil {
			return err
		}
		for _, r := range ad.recs {
			s := choose(contextOrder(r.kind), r.best, byKind)
			if _, err := insRA.ExecContext(ctx, id, r.rid, nullable(s.Label), s.Score, nullable(s.Vector), nullable(s.Source)); err != nil {
				return err
			}
		}
		if _, err := insAlias.ExecContext(ctx, id, id); err != nil {
			return err
		}
		for _, a := range ad.aliases {
			if _, err := insAlias.ExecContext(ctx, a, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func appendUniq(s []string, x string) []string {
	for _, v := range s {
		if v == x {
			return s
		}
	}
	return append(s, x)
}
