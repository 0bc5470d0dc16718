-- Cross-checking: identifiers indexed for linking, clusters of linked reports, the reasons of the
-- links that joined them, exclusions, deconfliction alerts, viral bundles, intelligence packages
-- and ISP request costs. See docs/linking.md and docs/packages.md.
-- There is deliberately no table of all pairs: link_key is identifier -> report (bounded per
-- identifier by the fan-out cap) and report_link holds only the links that merged two clusters.

-- Statistics per identifier: how many reports carry it, and whether it passed the fan-out cap.
CREATE TABLE link_key_stat (
    key_hash BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    report_count INTEGER NOT NULL,
    too_common INTEGER NOT NULL DEFAULT 0,
    redacted TEXT NOT NULL,
    first_seen INTEGER NOT NULL
);

-- Identifier -> report. For IP addresses `event_at` is the event time (the window is applied on it).
CREATE TABLE link_key (
    key_hash BLOB NOT NULL,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    event_at INTEGER
);
CREATE INDEX link_key_lookup ON link_key (key_hash, event_at);
CREATE INDEX link_key_report ON link_key (report_id);

-- Union-find kept flat: every report points straight at its cluster; merging relabels the
-- smaller cluster (union by size), so a lookup is one row and relabelling is amortised O(log n).
CREATE TABLE link_cluster (
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE report_cluster (
    report_id INTEGER PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL
);
CREATE INDEX report_cluster_cluster ON report_cluster (cluster_id);

-- Which organisations work on a cluster (referral targets; holders of open unreferred reports),
-- kept per cluster so deconfliction never scans a cluster's members.
CREATE TABLE cluster_org (
    cluster_id INTEGER NOT NULL,
    org_id INTEGER NOT NULL,
    report_count INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, org_id)
);

-- Why two reports are linked: only the links that joined two clusters.
CREATE TABLE report_link (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_a INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    report_b INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    key_hash BLOB NOT NULL,
    redacted TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX report_link_a ON report_link (report_a);
CREATE INDEX report_link_b ON report_link (report_b);

-- Values that never link: shared NAT addresses, a reporter's own infrastructure, known-good files.
CREATE TABLE link_exclusion (
    key_hash BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- An organisation told that a cluster it works on touches another organisation's work.
CREATE TABLE deconfliction_alert (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    cluster_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    redacted TEXT NOT NULL,
    own_reports TEXT NOT NULL,
    other_org_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    acknowledged_at INTEGER
);
CREATE INDEX deconfliction_alert_org ON deconfliction_alert (org_id, created_at);

-- Viral bundles: many reports of one file shown as one item with a count.
CREATE TABLE bundle (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    report_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE bundle_member (
    bundle_id INTEGER NOT NULL REFERENCES bundle (id) ON DELETE CASCADE,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    PRIMARY KEY (bundle_id, report_id)
);
CREATE INDEX bundle_member_report ON bundle_member (report_id);

-- Intelligence packages and their life: draft, approved, sent, acknowledged, outcome_reported.
CREATE TABLE package (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    from_org INTEGER NOT NULL REFERENCES organisation (id),
    to_org INTEGER NOT NULL REFERENCES organisation (id),
    state TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'sent', 'acknowledged', 'outcome_reported')),
    manifest TEXT NOT NULL,
    file_sha256 BLOB,
    isp_cost_cents INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX package_to_org ON package (to_org, created_at);
CREATE TABLE package_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    package_id INTEGER NOT NULL REFERENCES package (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX package_history_package ON package_history (package_id);
CREATE TABLE package_outcome (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    package_id INTEGER NOT NULL REFERENCES package (id) ON DELETE CASCADE,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    outcome TEXT NOT NULL CHECK (outcome IN ('no_crime', 'investigation_opened', 'victim_identified', 'victim_safeguarded', 'arrest', 'prosecution')),
    note TEXT,
    reported_at INTEGER NOT NULL
);
CREATE INDEX package_outcome_package ON package_outcome (package_id);

-- What an operator charges per subscriber lookup (per IP and time), in cents of `currency`.
CREATE TABLE isp_cost (
    operator TEXT PRIMARY KEY,
    cost_per_ip_cents INTEGER NOT NULL,
    currency TEXT NOT NULL
);
