-- Rules #14 (funeral): the deceased's own household region (a non-resident who died in the
-- county), the fees recorded with a waiver decision, and the ashes trail.
ALTER TABLE death_cases ADD COLUMN household_region TEXT NOT NULL DEFAULT '';

-- One line per basic service, as priced when the decision was taken (fen).
CREATE TABLE fee_lines (
    case_id TEXT NOT NULL,
    service TEXT NOT NULL,
    price_fen BIGINT NOT NULL,
    waived_fen BIGINT NOT NULL,
    payable_fen BIGINT NOT NULL,
    PRIMARY KEY (case_id, service)
);

-- The assistance benefits that grounded a waiver.
CREATE TABLE waiver_benefits (
    case_id TEXT NOT NULL,
    benefit_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ground TEXT NOT NULL,
    PRIMARY KEY (case_id, benefit_id)
);

-- 骨灰去向: who held the ashes where from which day (holder sealed: it may be a person's name).
CREATE TABLE ashes_trail (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    holder_kind TEXT NOT NULL,
    holder_sealed TEXT NOT NULL,
    place TEXT NOT NULL,
    since TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX ashes_trail_case ON ashes_trail (case_id, since, id);
