-- Jurisdiction, routing and prioritisation (docs/jurisdiction.md).

-- The route a referral carries: JSON list of {country, confidence, path, rule}. A referral to a
-- coordinator holds the onward path that the coordinator forwards along.
ALTER TABLE referral ADD COLUMN route TEXT;

-- Candidate jurisdictions of a report, best first. Confidence in thousandths (integers keep the
-- same SQL on both databases); evidence is JSON.
CREATE TABLE report_jurisdiction (
    report_id BIGINT NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    rank BIGINT NOT NULL,
    country TEXT NOT NULL,
    confidence_milli BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (report_id, country)
);

-- Every priority rule that fired for a report: the explanation of report.priority.
CREATE TABLE report_priority_rule (
    report_id BIGINT NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    weight BIGINT NOT NULL,
    facts TEXT NOT NULL,
    PRIMARY KEY (report_id, rule)
);

-- One row per routed report: when, the score, and what was considered but not used (JSON).
CREATE TABLE report_routing (
    report_id BIGINT PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    routed_at BIGINT NOT NULL,
    score BIGINT NOT NULL,
    unplaced TEXT NOT NULL,
    skipped TEXT NOT NULL
);
