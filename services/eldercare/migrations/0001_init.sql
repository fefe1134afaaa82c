-- Eldercare service schema. Portable SQL (SQLite and PostgreSQL): TEXT and BIGINT only.

-- Elders from the county population register. person_index: keyed blind index of the identity
-- number. The allowance columns hold the current bracket; death columns the StopForDeath outcome.
CREATE TABLE elders (
    id TEXT PRIMARY KEY,
    person_index TEXT NOT NULL UNIQUE,
    id_sealed TEXT NOT NULL,
    name_sealed TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    region TEXT NOT NULL,
    situations TEXT NOT NULL,
    bracket TEXT,
    payable_from TEXT,
    date_of_death TEXT,
    last_paid_month TEXT,
    death_allowance_stopped BIGINT NOT NULL,
    death_bed_released BIGINT NOT NULL,
    ability_level BIGINT NOT NULL,
    institution_id TEXT,
    nursing_bed BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX elders_region ON elders (region);
CREATE INDEX elders_birth ON elders (birth_date);

-- One roll per month; its lines are the amounts paid.
CREATE TABLE allowance_rolls (
    month TEXT PRIMARY KEY,
    recipients BIGINT NOT NULL,
    total_fen BIGINT NOT NULL,
    built_at_ms BIGINT NOT NULL
);
CREATE TABLE allowance_roll_lines (
    month TEXT NOT NULL,
    elder_id TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    PRIMARY KEY (month, elder_id)
);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY,
    elder_id TEXT NOT NULL,
    assessed_on TEXT NOT NULL,
    total_score BIGINT NOT NULL,
    base_level BIGINT NOT NULL,
    level BIGINT NOT NULL,
    care_subsidy_fen BIGINT NOT NULL
);

CREATE TABLE institutions (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    region TEXT NOT NULL,
    beds BIGINT NOT NULL,
    nursing_beds BIGINT NOT NULL,
    occupied BIGINT NOT NULL,
    occupied_nursing BIGINT NOT NULL,
    grade BIGINT NOT NULL
);

-- One scheduled visit per elder and month (YYYY-MM).
CREATE TABLE visits (
    month TEXT NOT NULL,
    elder_id TEXT NOT NULL,
    township TEXT NOT NULL,
    visited_on TEXT,
    visitor TEXT NOT NULL,
    notes TEXT NOT NULL,
    PRIMARY KEY (month, elder_id)
);
CREATE INDEX visits_township ON visits (month, township);
