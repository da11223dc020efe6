# Organisation rules about packages and findings.
package acme.pkgs

import data.stella.lib

banned := {"telnetd", "netcat-traditional"}

deny contains {"msg": sprintf("package %s is banned", [p.name]), "package": p.name} if {
	some p in input.sbom.packages
	p.name in banned
}

# Cites the finding, so a waiver for it sets the reason aside.
deny contains {"msg": sprintf("%s has EPSS %.2f", [f.id, f.epss]), "finding": f.id} if {
	some f in input.findings
	f.epss >= data.acme.epss_threshold
}

warn contains msg if {
	input.provenance.dbAgeHours > 48
	msg := sprintf("the vulnerability DB is %.0f hours old", [input.provenance.dbAgeHours])
}
