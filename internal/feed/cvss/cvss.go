// Package cvss computes CVSS v2 and v3.x base scores from vectors, for
// sources that publish only the vector (OSV, CSAF). CVSS v4.0 scores need
// the MacroVector lookup tables and are taken from the source when it gives
// them; BaseScore returns ok=false for v4 vectors.
package cvss

import (
	"fmt"
	"math"
	"strings"
)

// BaseScore returns the base score of a v2 or v3.x vector.
func BaseScore(vector string) (score float64, ok bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.0/"), strings.HasPrefix(vector, "CVSS:3.1/"):
		s, err := v3(vector)
		return s, err == nil
	case strings.HasPrefix(vector, "CVSS:4"):
		return 0, false
	default:
		s, err := v2(strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(vector, "("), ")"), "CVSS:2.0/"))
		return s, err == nil
	}
}

// Label maps a score to the qualitative rating of v3/v4 (v2 has no
// CRITICAL: pass v2=true to cap at HIGH).
func Label(score float64, v2 bool) string {
	switch {
	case score <= 0:
		return "NONE"
	case score < 4:
		return "LOW"
	case score < 7:
		return "MEDIUM"
	case score < 9 || v2:
		return "HIGH"
	default:
		return "CRITICAL"
	}
}

// metrics splits "K:V/K:V" into a map, refusing repeats and empty parts.
func metrics(parts []string) (map[string]string, error) {
	m := make(map[string]string, len(parts))
	for _, p := range parts {
		k, v, ok := strings.Cut(p, ":")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("bad metric %q", p)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("metric %s repeated", k)
		}
		m[k] = v
	}
	return m, nil
}

func pick(m map[string]string, key string, w map[string]float64) (float64, error) {
	v, ok := w[m[key]]
	if !ok {
		return 0, fmt.Errorf("metric %s: value %q unknown", key, m[key])
	}
	return v, nil
}

func v3(vector string) (float64, error) {
	parts := strings.Split(vector, "/")
	m, err := metrics(parts[1:])
	if err != nil {
		return 0, err
	}
	changed := m["S"] == "C"
	if m["S"] != "C" && m["S"] != "U" {
		return 0, fmt.Errorf("scope %q", m["S"])
	}
	av, err := pick(m, "AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2})
	if err != nil {
		return 0, err
	}
	ac, err := pick(m, "AC", map[string]float64{"L": 0.77, "H": 0.44})
	if err != nil {
		return 0, err
	}
	prW := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if changed {
		prW = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	pr, err := pick(m, "PR", prW)
	if err != nil {
		return 0, err
	}
	ui, err := pick(m, "UI", map[string]float64{"N": 0.85, "R": 0.62})
	if err != nil {
		return 0, err
	}
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	var imp [3]float64
	for i, k := range []string{"C", "I", "A"} {
		if imp[i], err = pick(m, k, cia); err != nil {
			return 0, err
		}
	}
	iss := 1 - (1-imp[0])*(1-imp[1])*(1-imp[2])
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	expl := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, nil
	}
	up := roundup31
	if strings.HasPrefix(vector, "CVSS:3.0/") {
		up = func(x float64) float64 { return math.Ceil(x*10) / 10 }
	}
	if changed {
		return up(math.Min(1.08*(impact+expl), 10)), nil
	}
	return up(math.Min(impact+expl, 10)), nil
}

// roundup31 is the CVSS 3.1 Roundup, which avoids float artefacts.
func roundup31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

func v2(vector string) (float64, error) {
	m, err := metrics(strings.Split(vector, "/"))
	if err != nil {
		return 0, err
	}
	av, err := pick(m, "AV", map[string]float64{"L": 0.395, "A": 0.646, "N": 1})
	if err != nil {
		return 0, err
	}
	ac, err := pick(m, "AC", map[string]float64{"H": 0.35, "M": 0.61, "L": 0.71})
	if err != nil {
		return 0, err
	}
	au, err := pick(m, "Au", map[string]float64{"M": 0.45, "S": 0.56, "N": 0.704})
	if err != nil {
		return 0, err
	}
	cia := map[string]float64{"N": 0, "P": 0.275, "C": 0.660}
	var imp [3]float64
	for i, k := range []string{"C", "I", "A"} {
		if imp[i], err = pick(m, k, cia); err != nil {
			return 0, err
		}
	}
	impact := 10.41 * (1 - (1-imp[0])*(1-imp[1])*(1-imp[2]))
	expl := 20 * av * ac * au
	f := 1.176
	if impact == 0 {
		f = 0
	}
	return math.Round(((0.6*impact)+(0.4*expl)-1.5)*f*10) / 10, nil
}
