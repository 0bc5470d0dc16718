-- CyberTipline intake lifecycle: an OPEN report expires at the later of 24 h after opening and
-- 1 h after its last change (upload or file details); retraction is recorded with its time.
ALTER TABLE report ADD COLUMN last_change_at INTEGER;
ALTER TABLE report ADD COLUMN retracted_at INTEGER;
CREATE INDEX report_open_expiry ON report (state, last_change_at);
