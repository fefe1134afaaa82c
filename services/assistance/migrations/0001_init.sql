-- 社会救助 store. Portable SQL (SQLite and PostgreSQL): TEXT and BIGINT only.
-- Personal data (identity numbers, household income, property, health) lives only in the
-- sealed JSON columns (*_sealed, AES-GCM via kit::pii::Sealer); lookups use blind indexes.

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    region TEXT NOT NULL,
    flagged BIGINT NOT NULL,
    submitted_on TEXT NOT NULL,
    -- Review deadline (YYYY-MM-DD), set on acceptance.
    deadline TEXT,
    record_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX applications_open ON applications (state, deadline);

CREATE TABLE benefits (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    region TEXT NOT NULL,
    -- First month paid and first month not paid (YYYY-MM).
    paid_from TEXT NOT NULL,
    ends TEXT,
    record_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX benefits_state ON benefits (state);

-- Who a benefit covers, by blind index (GetRecipientStatus, TerminateForDeath).
CREATE TABLE benefit_members (
    benefit_id TEXT NOT NULL,
    id_index TEXT NOT NULL,
    PRIMARY KEY (benefit_id, id_index)
);
CREATE INDEX benefit_members_person ON benefit_members (id_index);

-- One row per deceased person: TerminateForDeath answers every later call with this outcome.
CREATE TABLE deaths (
    id_index TEXT PRIMARY KEY,
    date_of_death TEXT NOT NULL,
    response TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);

-- One roll per month (UNIQUE): generating again returns the stored roll.
CREATE TABLE payment_rolls (
    id TEXT PRIMARY KEY,
    month TEXT NOT NULL UNIQUE,
    total_fen BIGINT NOT NULL,
    line_count BIGINT NOT NULL,
    -- base64 protobuf PaymentRoll (payees masked).
    roll TEXT NOT NULL,
    generated_at_ms BIGINT NOT NULL
);
