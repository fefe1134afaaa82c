-- Social-organisation service schema. Portable SQL (SQLite and PostgreSQL): TEXT and BIGINT only;
-- dates are TEXT YYYY-MM-DD, instants BIGINT unix milliseconds, booleans BIGINT 0/1.

-- 社会组织. The legal representative's identity number is sealed (rep_id_sealed) and found by
-- its keyed blind index (rep_index); the name is sealed too.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    credit_code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    field TEXT NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    address TEXT NOT NULL,
    rep_index TEXT NOT NULL,
    rep_id_sealed TEXT NOT NULL,
    rep_name_sealed TEXT NOT NULL,
    supervisory_unit TEXT NOT NULL,
    individual_members BIGINT NOT NULL,
    unit_members BIGINT NOT NULL,
    funds_fen BIGINT NOT NULL,
    public_fundraising BIGINT NOT NULL,
    status TEXT NOT NULL,
    received_on TEXT NOT NULL,
    registered_on TEXT NOT NULL,
    decision_due TEXT NOT NULL,
    ended_on TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX organisations_rep ON organisations (rep_index);
-- Two active organisations of one county never share a name.
CREATE UNIQUE INDEX organisations_active_name ON organisations (region, name) WHERE status = 'ACTIVE';

-- Per-county sequence of credit-code bodies.
CREATE TABLE credit_sequences (
    county TEXT PRIMARY KEY,
    last_value BIGINT NOT NULL
);

-- 变更登记 history (what changed; identity numbers are never written here).
CREATE TABLE organisation_changes (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    changed_on TEXT NOT NULL,
    what TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX organisation_changes_org ON organisation_changes (organisation_id);

-- Tasks to replace a legal representative; at most one open per organisation.
CREATE TABLE representative_tasks (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at_ms BIGINT NOT NULL,
    closed_at_ms BIGINT
);
CREATE UNIQUE INDEX representative_tasks_open ON representative_tasks (organisation_id) WHERE status = 'OPEN';

CREATE TABLE annual_reports (
    organisation_id TEXT NOT NULL,
    year BIGINT NOT NULL,
    submitted_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    late BIGINT NOT NULL,
    result TEXT NOT NULL,
    spending_ratio_met BIGINT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, year)
);

-- Entries of the abnormal and serious lists, with trigger, date and evidence.
CREATE TABLE listings (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    list TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    listed_on TEXT NOT NULL,
    report_year BIGINT,
    fine_fen BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    corrected_on TEXT,
    removal_due TEXT,
    removed_on TEXT,
    removal_reason TEXT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX listings_org ON listings (organisation_id);
CREATE INDEX listings_list ON listings (list, listed_on);
-- The sweep lists a non-reporter once per year, even when two replicas race.
CREATE UNIQUE INDEX listings_missed_report ON listings (organisation_id, report_year) WHERE trigger_kind = 'MISSED_ANNUAL_REPORT';

CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    level BIGINT NOT NULL,
    granted_on TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX ratings_org ON ratings (organisation_id, granted_on);
