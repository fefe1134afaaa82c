-- Funeral service schema. Portable SQL (SQLite and PostgreSQL): TEXT and BIGINT only.

-- 死亡个案: one per person (person_index is the keyed blind index of the identity number).
CREATE TABLE death_cases (
    id TEXT PRIMARY KEY,
    person_index TEXT NOT NULL UNIQUE,
    id_sealed TEXT NOT NULL,
    name_sealed TEXT NOT NULL,
    region TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    issuer TEXT NOT NULL,
    certificate_number TEXT NOT NULL,
    date_of_death TEXT NOT NULL,
    place_of_death TEXT NOT NULL,
    cause_class TEXT NOT NULL,
    state TEXT NOT NULL,
    cremation_certificate TEXT,
    final_place TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE custody_events (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    event_date TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX custody_events_case ON custody_events (case_id, id);

-- The waiver decision and the evidence it rested on (benefit kinds newline-separated).
CREATE TABLE fee_waivers (
    case_id TEXT PRIMARY KEY,
    waived BIGINT NOT NULL,
    grounds TEXT NOT NULL,
    source TEXT NOT NULL,
    benefit_kinds_seen TEXT NOT NULL,
    checked_at_ms BIGINT NOT NULL,
    decided_by TEXT NOT NULL
);

-- Furnace quota per day and slot; `booked < capacity` is enforced by a conditional UPDATE.
CREATE TABLE cremation_slots (
    day TEXT NOT NULL,
    slot BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    booked BIGINT NOT NULL,
    PRIMARY KEY (day, slot)
);

CREATE TABLE cremation_bookings (
    case_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    slot BIGINT NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE cremation_certificates (
    number TEXT PRIMARY KEY,
    case_id TEXT NOT NULL UNIQUE,
    cremated_on TEXT NOT NULL
);

CREATE TABLE eco_burials (
    case_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    place TEXT NOT NULL,
    burial_date TEXT NOT NULL,
    reward_fen BIGINT NOT NULL
);

CREATE TABLE cemeteries (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL
);

-- A plot is leased (occupant) or reserved for a living spouse (beside_plot names the
-- deceased spouse's plot). person_index is a blind index; person_sealed the sealed number.
CREATE TABLE plots (
    cemetery_id TEXT NOT NULL,
    plot_number TEXT NOT NULL,
    state TEXT NOT NULL,
    area_dm2 BIGINT NOT NULL,
    person_index TEXT NOT NULL,
    person_sealed TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    beside_plot TEXT NOT NULL,
    PRIMARY KEY (cemetery_id, plot_number)
);
