-- Earlier reports sharing an identifier (the repeat-offender priority rule) are found by a range
-- scan of (kind, value, report_id) instead of visiting every report that carries the value.
-- The new index serves every query the (kind, value) one served, so it replaces it.
DROP INDEX report_identifier_value;
CREATE INDEX report_identifier_value ON report_identifier (kind, value, report_id);
