-- Place-name service schema. Portable SQL (SQLite and PostgreSQL): TEXT and BIGINT only;
-- dates TEXT YYYY-MM-DD, instants BIGINT unix milliseconds, booleans BIGINT 0/1,
-- coordinates BIGINT degrees x 1e6. Place names hold no personal data.

-- 标准地名: one row per name; a renamed record keeps its id and its old name becomes a
-- HISTORIC row of its own.
CREATE TABLE place_names (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    specific_part TEXT NOT NULL,
    generic_part TEXT NOT NULL,
    pinyin TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    longitude_e6 BIGINT NOT NULL,
    latitude_e6 BIGINT NOT NULL,
    location TEXT NOT NULL,
    origin_meaning TEXT NOT NULL,
    status TEXT NOT NULL,
    approval_document TEXT NOT NULL,
    protected_heritage BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX place_names_name ON place_names (name);
CREATE INDEX place_names_region ON place_names (region);

-- Per county and category sequence of place-name codes.
CREATE TABLE code_sequences (
    prefix TEXT PRIMARY KEY,
    last_value BIGINT NOT NULL
);

-- Seeds loaded once (the marker row is inserted in the seeding transaction).
CREATE TABLE seed_runs (
    name TEXT PRIMARY KEY,
    rows_loaded BIGINT NOT NULL,
    loaded_at_ms BIGINT NOT NULL
);

-- 命名 / 更名 applications. Warnings are "code<TAB>message" lines; addressed warnings one
-- code per line.
CREATE TABLE naming_applications (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    name TEXT NOT NULL,
    specific_part TEXT NOT NULL,
    generic_part TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    longitude_e6 BIGINT NOT NULL,
    latitude_e6 BIGINT NOT NULL,
    location TEXT NOT NULL,
    origin_meaning TEXT NOT NULL,
    reasons TEXT NOT NULL,
    stage TEXT NOT NULL,
    warnings TEXT NOT NULL,
    submitted_on TEXT NOT NULL,
    review_opinion TEXT NOT NULL,
    addressed_warnings TEXT NOT NULL,
    heritage_assessed BIGINT NOT NULL,
    approval_document TEXT NOT NULL,
    approved_on TEXT,
    filing_due TEXT,
    announcement_due TEXT,
    filed_on TEXT,
    announced_on TEXT,
    filed_late BIGINT NOT NULL,
    announced_late BIGINT NOT NULL,
    new_place_name_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- 门牌: no number twice on a road.
CREATE TABLE house_numbers (
    id TEXT PRIMARY KEY,
    road_id TEXT NOT NULL,
    side TEXT NOT NULL,
    number BIGINT NOT NULL,
    sub_number BIGINT NOT NULL,
    position_m BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (road_id, number, sub_number)
);
