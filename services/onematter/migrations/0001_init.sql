-- The one-matter aggregator's own store: cases, their steps (the durable executor's queue) and
-- the per-case update log that WatchCase and the metrics read. Portable SQL (SQLite, PostgreSQL).

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    -- One case per matter: "after_death:<blind index of the deceased>", or the case id.
    dedupe_key TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    -- Subject of the applying account; '' for a case started without application.
    applicant TEXT NOT NULL,
    declarant_sealed TEXT NOT NULL,
    declarant_index TEXT NOT NULL,
    declarant_relationship TEXT NOT NULL,
    subject_sealed TEXT NOT NULL,
    subject_index TEXT NOT NULL,
    -- The matter as declared (protobuf, sealed: it holds identity numbers).
    input_sealed TEXT NOT NULL,
    -- Non-personal facts learnt along the way (e.g. funeral's death case name), JSON.
    facts TEXT NOT NULL,
    reason TEXT NOT NULL,
    origin TEXT NOT NULL,
    traceparent TEXT NOT NULL,
    -- Sequence of the last case_events row.
    event_seq BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX cases_applicant ON cases (applicant, id);
CREATE INDEX cases_region ON cases (region, id);
CREATE INDEX cases_state ON cases (state);

CREATE TABLE case_steps (
    -- "<case id>/<step>".
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    step TEXT NOT NULL,
    position BIGINT NOT NULL,
    -- blocked | ready | running | succeeded | failed | compensated | skipped | cancelled
    state TEXT NOT NULL,
    -- do | undo (compensation)
    phase TEXT NOT NULL,
    compensable BIGINT NOT NULL,
    -- Dependencies not yet succeeded; the step becomes ready at 0.
    pending_deps BIGINT NOT NULL,
    -- Counted when an executor claims the step, so a crash loop exhausts them too.
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    next_run_at_ms BIGINT NOT NULL,
    -- The step's deadline as a duration, and the instant it falls on once the step is ready.
    deadline_ms BIGINT NOT NULL,
    deadline_at_ms BIGINT,
    -- Fencing: incremented on every claim; results are recorded only under the current token.
    lease_token BIGINT NOT NULL,
    lease_until_ms BIGINT,
    leased_by TEXT NOT NULL,
    output TEXT NOT NULL,
    summary TEXT NOT NULL,
    last_error TEXT NOT NULL,
    -- Completion order (reverse order of compensation).
    done_seq BIGINT,
    started_at_ms BIGINT,
    finished_at_ms BIGINT,
    UNIQUE (case_id, step)
);
CREATE INDEX case_steps_due ON case_steps (state, next_run_at_ms);
CREATE INDEX case_steps_lease ON case_steps (state, lease_until_ms);

CREATE TABLE case_events (
    case_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    message TEXT NOT NULL,
    case_state TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
