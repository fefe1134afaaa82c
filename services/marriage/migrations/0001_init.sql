-- 婚姻登记 store. Portable SQL (SQLite and PostgreSQL): TEXT and BIGINT only, dates as
-- 'YYYY-MM-DD' (so text order is date order), instants as unix milliseconds.
-- Identity numbers are never stored in clear: *_sealed (AES-GCM) + *_index (keyed blind index).

CREATE TABLE offices (
    office_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- One row per office, day and time slot. `booked` only ever changes through the conditional
-- UPDATE ... WHERE booked < quota, in the transaction that inserts the appointment.
CREATE TABLE slots (
    office_id TEXT NOT NULL,
    slot_date TEXT NOT NULL,
    slot TEXT NOT NULL,
    quota BIGINT NOT NULL,
    booked BIGINT NOT NULL,
    PRIMARY KEY (office_id, slot_date, slot)
);

CREATE TABLE appointments (
    appointment_id TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    slot_date TEXT NOT NULL,
    slot TEXT NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    booked_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    cancelled_at_ms BIGINT
);
CREATE INDEX appointments_by_slot ON appointments (office_id, slot_date, slot, state);

-- Every person the archive knows. The row is also the lock that serialises changes to one
-- person's status (no two concurrent registrations of the same person).
CREATE TABLE persons (
    id_index TEXT PRIMARY KEY,
    id_sealed TEXT NOT NULL,
    name TEXT NOT NULL,
    died_on TEXT,
    -- The marriage the death ended, if any (so a repeated RecordDeath answers the same).
    death_marriage TEXT,
    version BIGINT NOT NULL
);

-- The archive (kept permanently): one row per registered marriage with its certificate.
CREATE TABLE marriages (
    certificate_number TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    registration_date TEXT NOT NULL,
    registrar TEXT NOT NULL,
    state TEXT NOT NULL,
    ended_on TEXT,
    -- Blind index of the spouse whose death ended the marriage.
    deceased_index TEXT,
    a_index TEXT NOT NULL,
    a_sealed TEXT NOT NULL,
    a_name TEXT NOT NULL,
    a_sex TEXT NOT NULL,
    a_birth TEXT NOT NULL,
    b_index TEXT NOT NULL,
    b_sealed TEXT NOT NULL,
    b_name TEXT NOT NULL,
    b_sex TEXT NOT NULL,
    b_birth TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX marriages_by_a ON marriages (a_index);
CREATE INDEX marriages_by_b ON marriages (b_index);

CREATE TABLE marriage_remarks (
    certificate_number TEXT NOT NULL,
    seq BIGINT NOT NULL,
    remark TEXT NOT NULL,
    PRIMARY KEY (certificate_number, seq)
);

-- Certificate serials per kind (J, L, BJ, BL), county and year.
CREATE TABLE certificate_serials (
    prefix TEXT NOT NULL,
    division TEXT NOT NULL,
    year BIGINT NOT NULL,
    last_serial BIGINT NOT NULL,
    PRIMARY KEY (prefix, division, year)
);

CREATE TABLE divorce_applications (
    application_id TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    marriage_certificate TEXT NOT NULL,
    agreement_summary TEXT NOT NULL,
    received_on TEXT NOT NULL,
    withdrawal_deadline TEXT NOT NULL,
    issuance_deadline TEXT NOT NULL,
    state TEXT NOT NULL,
    closed_on TEXT,
    divorce_certificate TEXT,
    created_at_ms BIGINT NOT NULL
);
-- At most one open application per marriage, whatever the concurrency.
CREATE UNIQUE INDEX divorce_applications_one_open ON divorce_applications (marriage_certificate) WHERE state = 'pending';
-- The expiry sweep scans open applications by deadline.
CREATE INDEX divorce_applications_due ON divorce_applications (state, issuance_deadline);
CREATE INDEX divorce_applications_by_certificate ON divorce_applications (divorce_certificate);

-- 补领 and marriage record certificates handed out.
CREATE TABLE reissues (
    reissue_id TEXT PRIMARY KEY,
    original_certificate TEXT NOT NULL,
    new_certificate TEXT,
    outcome TEXT NOT NULL,
    party_index TEXT NOT NULL,
    office_id TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX reissues_by_new ON reissues (new_certificate);
