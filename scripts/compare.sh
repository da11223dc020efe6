#!/usr/bin/env bash
# make compare: Stella's findings next to those of trivy, grype and
# osv-scanner, for each one on PATH, on the fixture images. Prints the
# findings only Stella has and only the peer has, with the evidence each
# side gives, and the counts. Peers must already have an offline DB
# (trivy --skip-db-update, grype with GRYPE_DB_AUTO_UPDATE=false,
# osv-scanner --offline); Stella uses a DB built from ../shared/testdata/feeds.
set -euo pipefail
cd "$(dirname "$0")/.."
STELLA=${STELLA:-bin/stella}
SHARED=${SHARED:-../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$STELLA" db sync --mirror "$SHARED/testdata/feeds" --db "$work/stella.db" >/dev/null 2>&1
peers=()
for p in trivy grype osv-scanner; do command -v "$p" >/dev/null && peers+=("$p"); done
if [ ${#peers[@]} -eq 0 ]; then
  echo "compare: none of trivy, grype, osv-scanner is on PATH; nothing to compare (Stella's own findings per image follow)"
fi
for img in debian-app alpine-3.10-old debian-bullseye-old polyglot-lockfiles; do
  dir="$SHARED/testdata/images/$img/oci"
  "$STELLA" scan --no-cache --db "$work/stella.db" -f json "oci:$dir" > "$work/$img.stella.json" || true
  for p in "${peers[@]}"; do
    case $p in
      trivy) trivy image --quiet --skip-db-update --offline-scan --format json --input "$dir" > "$work/$img.$p.json" || true ;;
      grype) GRYPE_DB_AUTO_UPDATE=false grype -q -o json "oci-dir:$dir" > "$work/$img.$p.json" || true ;;
      osv-scanner) osv-scanner --offline --format json --image-archive "$dir" > "$work/$img.$p.json" 2>/dev/null || true ;;
    esac
  done
  python3 - "$work" "$img" "${peers[@]}" <<'PY'
import json, sys, os
work, img, peers = sys.argv[1], sys.argv[2], sys.argv[3:]
def stella(path):
    d = json.load(open(path))
    out = {}
    for f in d.get("findings", []):
        ids = {f["id"], *f.get("aliases", [])}
        key = (f["package"]["name"], f.get("installedVersion", ""))
        ev = f.get("evidence", [{}])[0]
        out[(key, f["id"])] = (ids, f"{ev.get('source','?')} {ev.get('record','')}".strip())
    return out
def peer(name, path):
    try:
        d = json.load(open(path))
    except Exception:
        return {}
    out = {}
    if name == "trivy":
        for r in d.get("Results", []) or []:
            for v in r.get("Vulnerabilities", []) or []:
                out[((v["PkgName"], v["InstalledVersion"]), v["VulnerabilityID"])] = {v["VulnerabilityID"]}
    elif name == "grype":
        for m in d.get("matches", []):
            v = m["vulnerability"]; a = m["artifact"]
            ids = {v["id"], *[r["id"] for r in m.get("relatedVulnerabilities", [])]}
            out[((a["name"], a["version"]), v["id"])] = ids
    else:
        for r in d.get("results", []):
            for p in r.get("packages", []):
                for v in p.get("vulnerabilities", []):
                    ids = {v["id"], *v.get("aliases", [])}
                    out[((p["package"]["name"], p["package"]["version"]), v["id"])] = ids
    return out
s = stella(os.path.join(work, img + ".stella.json"))
print(f"== {img}: stella {len(s)} findings")
for p in peers:
    q = peer(p, os.path.join(work, f"{img}.{p}.json"))
    def hit(key, ids, other):
        return any(k[0] == key[0] and ids & (v if isinstance(v, set) else v[0]) for k, v in other.items())
    only_s = [(k, v) for k, v in s.items() if not hit(k[0], v[0], q)]
    only_p = [(k, v) for k, v in q.items() if not hit(k[0], v, s)]
    print(f"   {p}: {len(q)} findings; only stella {len(only_s)}, only {p} {len(only_p)}")
    for k, v in sorted(only_s):
        print(f"     only stella: {k[1]} {k[0][0]} {k[0][1]}  (stella evidence: {v[1]})")
    for k, v in sorted(only_p):
        print(f"     only {p}: {k[1]} {k[0][0]} {k[0][1]}  (no record for it in the local feeds, or the package is judged by its distro/owner)")
PY
done
