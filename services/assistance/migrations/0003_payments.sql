-- Payment rolls with maker-checker, bank files and reconciliation (issue 19). Portable SQL
-- (SQLite and PostgreSQL). The older payment_rolls table (one stored roll per month) stays
-- for GeneratePaymentRoll; these tables belong to the PaymentRolls service.

-- The account a benefit is paid into (一卡通: the head of household's account). Sealed: a
-- financial account is sensitive personal information (PIPL art. 28). `version` grows with
-- every correction: a failed line is re-issued only after its account version moved.
CREATE TABLE payee_accounts (
    benefit_id TEXT PRIMARY KEY,
    account_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- A roll: regular (one per month) or supplementary (re-issues).
-- state: draft, submitted, approved, exported, reconciled, partly_failed.
CREATE TABLE pay_rolls (
    id TEXT PRIMARY KEY,
    month TEXT NOT NULL,
    roll_kind TEXT NOT NULL,
    state TEXT NOT NULL,
    line_count BIGINT NOT NULL,
    total_fen BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    submitted_by TEXT,
    submitted_at_ms BIGINT,
    approved_by TEXT,
    approved_at_ms BIGINT,
    -- SHA-256 of the lines, amounts, accounts and inputs, fixed at approval.
    approved_hash TEXT,
    exported_at_ms BIGINT,
    file_sha256 TEXT,
    reconciled_at_ms BIGINT,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX pay_rolls_one_regular_per_month ON pay_rolls (month) WHERE roll_kind = 'regular';

-- One line per payee. line_id is unique across all rolls (it is the bank reference).
-- status: pending, paid, failed, reissued (failed, then put on a supplementary roll).
CREATE TABLE pay_lines (
    line_id TEXT PRIMARY KEY,
    roll_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    benefit_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    -- The month the money is for.
    for_month TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    policy_version TEXT NOT NULL,
    -- The account as held when the roll was made (sealed), and its version; NULL: none held.
    account_sealed TEXT,
    account_version BIGINT,
    -- Inputs of the amount (household revision, computation, decision, last change), sealed,
    -- and the SHA-256 of their plain JSON.
    inputs_sealed TEXT NOT NULL,
    inputs_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    bank_code TEXT,
    bank_reason TEXT,
    -- The failed line this one re-issues; a line is re-issued at most once.
    reissue_of TEXT
);
CREATE UNIQUE INDEX pay_lines_roll_seq ON pay_lines (roll_id, seq);
CREATE UNIQUE INDEX pay_lines_roll_benefit_month ON pay_lines (roll_id, benefit_id, for_month);
CREATE UNIQUE INDEX pay_lines_reissued_once ON pay_lines (reissue_of) WHERE reissue_of IS NOT NULL;
-- Never paid twice: one paid line per benefit and month, whatever the roll.
CREATE UNIQUE INDEX pay_lines_paid_once ON pay_lines (benefit_id, for_month) WHERE status = 'paid';
CREATE INDEX pay_lines_status ON pay_lines (status);

-- Bank return files imported, by the SHA-256 of their bytes: a file is imported once.
CREATE TABLE bank_returns (
    file_sha256 TEXT PRIMARY KEY,
    roll_id TEXT NOT NULL,
    lines BIGINT NOT NULL,
    paid_fen BIGINT NOT NULL,
    failed_fen BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX bank_returns_one_per_roll ON bank_returns (roll_id);
