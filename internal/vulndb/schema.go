// Package vulndb is Stella's vulnerability database: one SQLite file
// (modernc.org/sqlite, no cgo) built by merging the feed connectors'
// records, read by the matcher, and shipped in signed offline kits.
//
// Model: every source record is kept as it came (table record, with
// provenance: source, document URL, document digest, fetched-at) together
// with its affected packages, severities and CPE matches. Records are then
// grouped into advisories, one per vulnerability: keyed by CVE when any id
// or alias of the record is a CVE, otherwise by the record's own id group
// (see link.go). The hot query of the matcher, (ecosystem, package name) ->
// affected records, is served by the index affected_pkg.
//
// Updates never touch the live file: a sync builds into a temporary file
// beside it (a copy of the old DB for an incremental sync) and renames it
// over the old one; readers that have the old file open keep reading it.
package vulndb

// SchemaVersion is bumped whenever the schema changes incompatibly; a
// reader refuses a DB of another version, and a kit import checks it.
const SchemaVersion = 1

const schemaSQL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- Per source: incremental-sync state and freshness.
CREATE TABLE source_state (
	source      TEXT PRIMARY KEY,
	last_sync   TEXT,    -- RFC 3339 start of the last successful sync (next "since")
	last_modified TEXT,  -- newest record modification seen
	records     INTEGER NOT NULL DEFAULT 0,
	problems    INTEGER NOT NULL DEFAULT 0,
	validators  TEXT,    -- JSON {url: [etag, last-modified]}
	origin      TEXT     -- URL or mirror directory read
) WITHOUT ROWID;

-- One row per source record, with provenance. body is the record's JSON
-- without affected/severity/cpes, which live in their own tables.
CREATE TABLE record (
	rid        INTEGER PRIMARY KEY,
	source     TEXT NOT NULL,
	id         TEXT NOT NULL,
	aliases    TEXT NOT NULL DEFAULT '[]',
	published  TEXT,
	modified   TEXT,
	withdrawn  INTEGER NOT NULL DEFAULT 0,
	kind       TEXT NOT NULL,  -- distro, ecosystem, nvd, other (severity precedence)
	doc_url    TEXT,
	doc_digest TEXT,
	fetched_at TEXT,
	body       TEXT NOT NULL,
	UNIQUE (source, id)
);

CREATE TABLE affected (
	rid       INTEGER NOT NULL,
	ecosystem TEXT NOT NULL,
	package   TEXT NOT NULL,  -- as the source spells it
	name_key  TEXT NOT NULL,  -- NormalizeName(ecosystem, package): the lookup key
	purl      TEXT,
	ranges    TEXT,           -- JSON []feed.Range
	versions  TEXT,           -- JSON []string
	distro    TEXT NOT NULL DEFAULT '',
	release   TEXT NOT NULL DEFAULT '',
	fixed     TEXT NOT NULL DEFAULT '',
	state     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX affected_pkg ON affected (ecosystem, name_key);
CREATE INDEX affected_distro ON affected (distro, release, name_key);
CREATE INDEX affected_rid ON affected (rid);

CREATE TABLE severity (
	rid    INTEGER NOT NULL,
	source TEXT, type TEXT, vector TEXT, score REAL, label TEXT
);
CREATE INDEX severity_rid ON severity (rid);

CREATE TABLE cpe (
	rid INTEGER NOT NULL,
	config INTEGER, node INTEGER, operator TEXT, negate INTEGER, config_operator TEXT,
	vulnerable INTEGER, criteria TEXT NOT NULL, vendor TEXT, product TEXT,
	start_incl TEXT, start_excl TEXT, end_incl TEXT, end_excl TEXT
);
CREATE INDEX cpe_product ON cpe (vendor, product);
CREATE INDEX cpe_rid ON cpe (rid);

-- Derived by link.go after every sync.
CREATE TABLE advisory (
	id        TEXT PRIMARY KEY,
	summary   TEXT,
	published TEXT,
	modified  TEXT,
	withdrawn INTEGER NOT NULL DEFAULT 0,
	severity  TEXT, score REAL, vector TEXT, severity_source TEXT,
	cwes      TEXT
) WITHOUT ROWID;

-- record -> advisory, with the severity chosen for that record's context.
CREATE TABLE record_advisory (
	advisory TEXT NOT NULL,
	rid      INTEGER NOT NULL,
	severity TEXT, score REAL, vector TEXT, severity_source TEXT,
	PRIMARY KEY (advisory, rid)
) WITHOUT ROWID;
CREATE INDEX record_advisory_rid ON record_advisory (rid);

CREATE TABLE alias (
	alias    TEXT NOT NULL,
	advisory TEXT NOT NULL,
	PRIMARY KEY (alias, advisory)
) WITHOUT ROWID;

-- Enrichment, keyed by CVE.
CREATE TABLE kev (
	cve TEXT PRIMARY KEY, date_added TEXT, due_date TEXT, ransomware TEXT,
	vendor TEXT, product TEXT, name TEXT, doc_url TEXT, doc_digest TEXT, fetched_at TEXT
) WITHOUT ROWID;
CREATE TABLE epss (
	cve TEXT PRIMARY KEY, score REAL, percentile REAL, date TEXT
) WITHOUT ROWID;
`
