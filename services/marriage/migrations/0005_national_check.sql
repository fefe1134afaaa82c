-- The national check (联网核对, 婚姻登记条例 2025 art. 4). A county approver's override lets one
-- couple (pair_key: both blind indexes, sorted, joined by '|') be registered at one office on
-- one day while the national database does not answer.
CREATE TABLE national_check_overrides (
    override_id TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    pair_key TEXT NOT NULL,
    valid_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX national_check_overrides_pair ON national_check_overrides (pair_key, valid_on);

-- How the national check went for each registration (marriage certificate or divorce
-- certificate number): 'local_only', 'passed' or 'overridden' (with the override), kept so an
-- unchecked registration is reported upstream flagged as such.
CREATE TABLE national_checks (
    certificate_number TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    override_id TEXT,
    recorded_at_ms BIGINT NOT NULL
);
