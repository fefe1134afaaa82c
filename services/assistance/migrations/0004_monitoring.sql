-- 低收入人口动态监测 (issue 20): the register, signals and warnings. Portable SQL (SQLite and
-- PostgreSQL): TEXT and BIGINT only. Personal data (a visit's finding, a signal's detail) is
-- sealed; people are found by blind index.

-- A monitored household: its region (village or township code) and the owner of its warnings
-- (the township, or the county when the region names none).
CREATE TABLE mon_households (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    owner_region TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX mon_households_owner ON mon_households (owner_region);

-- A person is in one monitored household only.
CREATE TABLE mon_members (
    id_index TEXT PRIMARY KEY,
    household_id TEXT NOT NULL
);
CREATE INDEX mon_members_household ON mon_members (household_id);

-- The register (低收入人口库): one entry per household, category and source.
-- source: benefit (source_reference = benefit id) or county_decision (the decision's 文号).
CREATE TABLE mon_register (
    id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    owner_region TEXT NOT NULL,
    source TEXT NOT NULL,
    source_reference TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT,
    members BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX mon_register_source ON mon_register (source, source_reference, category);
CREATE INDEX mon_register_owner ON mon_register (owner_region, category);
CREATE INDEX mon_register_household ON mon_register (household_id);

-- Signals, once per (source, source record id). `content_sha256`: the pushed content, so the
-- same record with other content is refused. `receipt`: the first answer (base64 protobuf).
CREATE TABLE mon_signals (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    household_id TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    received_on TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    detail_sealed TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    warning_id TEXT,
    receipt TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX mon_signals_source_record ON mon_signals (source, source_record_id);
CREATE INDEX mon_signals_household ON mon_signals (household_id);
CREATE INDEX mon_signals_warning ON mon_signals (warning_id);

-- Warnings. state: raised, assigned, visited, closed. One open warning per household (a new
-- signal joins it). `detail_sealed`: the visit (staff, finding) and the closure's reasons.
-- closure_kind: application, benefit_change, referral, dismissal.
CREATE TABLE mon_warnings (
    id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL,
    owner_region TEXT NOT NULL,
    assignee TEXT,
    raised_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    escalated BIGINT NOT NULL,
    rule TEXT NOT NULL,
    closure_kind TEXT,
    application_id TEXT,
    benefit_id TEXT,
    closed_on TEXT,
    detail_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX mon_warnings_one_open ON mon_warnings (household_id) WHERE state <> 'closed';
CREATE INDEX mon_warnings_owner ON mon_warnings (owner_region, state, due_on);
CREATE INDEX mon_warnings_raised ON mon_warnings (raised_on);
