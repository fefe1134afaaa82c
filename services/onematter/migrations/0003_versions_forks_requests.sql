-- Web issue (#17): versioned plans, forks and 补件 (documents or answers asked of the family).

-- The plan version a case started with; it keeps it to the end, whatever is published later.
ALTER TABLE cases ADD COLUMN plan_version BIGINT NOT NULL DEFAULT 1;
-- A fork: the case it was forked from and the step it reran from ('' for an original case).
ALTER TABLE cases ADD COLUMN forked_from TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN fork_step TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_forked_from ON cases (forked_from);

-- Which version of each plan new cases take: the highest published (version 1 when none is).
CREATE TABLE plan_versions (
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    published_at_ms BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);

-- 补件: a step waiting for a document or an answer from the family.
CREATE TABLE family_requests (
    -- "<case id>/<step>": one request per step.
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    step TEXT NOT NULL,
    region TEXT NOT NULL,
    -- What is asked, in words (no personal data).
    what TEXT NOT NULL,
    -- Calendar date (YYYY-MM-DD) by which the family answers: working days from the request.
    due_date TEXT NOT NULL,
    -- open | answered
    state TEXT NOT NULL,
    -- The family's answer, sealed (it may name people and document numbers).
    answer_sealed TEXT NOT NULL,
    answered_by TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    answered_at_ms BIGINT
);
CREATE INDEX family_requests_case ON family_requests (case_id);
CREATE INDEX family_requests_open ON family_requests (state, due_date);

-- Retention: when the personal data of a closed case was removed (NULL while it is kept).
ALTER TABLE cases ADD COLUMN purged_at_ms BIGINT;
