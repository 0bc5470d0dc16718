-- The web application's package flow: which package carries each referral (a referral goes
-- into one package only), and the indexes its pages need.

ALTER TABLE referral ADD COLUMN package_id BIGINT REFERENCES package (id);
CREATE INDEX referral_from_to ON referral (from_org, to_org, package_id);
CREATE INDEX package_from_org ON package (from_org, id);

-- The triage queue walks reports in priority rank, then age, then id (`triage::PRIORITY_RANK`,
-- the same expression): with this index its first page reads about as many rows as it shows,
-- whatever the number of reports, instead of sorting them all.
CREATE INDEX report_queue_rank ON report ((CASE priority WHEN 'p1' THEN 1 WHEN 'p2' THEN 2
    WHEN 'p3' THEN 3 WHEN 'informational' THEN 5 ELSE 4 END), received_at, id);
