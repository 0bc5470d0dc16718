-- The web application's package flow: which package carries each referral (a referral goes
-- into one package only), and the indexes its pages need.

ALTER TABLE referral ADD COLUMN package_id BIGINT REFERENCES package (id);
CREATE INDEX referral_from_to ON referral (from_org, to_org, package_id);
CREATE INDEX package_from_org ON package (from_org, id);
