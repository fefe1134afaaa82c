-- Deduplication and grievances (issue 19, RULES.md "Second round" §5-6). Portable SQL
-- (SQLite and PostgreSQL): TEXT and BIGINT only.

-- §5: a person (blind index) is in at most one live assistance household (低保, 低保边缘, 特困;
-- not temporary assistance). The primary key holds it even against concurrent decisions; the
-- row goes when the benefit is terminated.
CREATE TABLE household_people (
    id_index TEXT PRIMARY KEY,
    benefit_id TEXT NOT NULL,
    region TEXT NOT NULL
);
CREATE INDEX household_people_benefit ON household_people (benefit_id);

-- Benefits live before this migration: the first one of each person (by id) holds the place.
INSERT INTO household_people (id_index, benefit_id, region)
SELECT m.id_index, MIN(m.benefit_id), MIN(b.region)
FROM benefit_members m JOIN benefits b ON b.id = m.benefit_id
WHERE b.state <> 'terminated' AND b.kind <> 'temporary'
GROUP BY m.id_index;

-- §5: at most one open application per person and program; the row goes with the decision.
-- (Applications open before this migration are sealed and not registered here.)
CREATE TABLE application_people (
    id_index TEXT NOT NULL,
    kind TEXT NOT NULL,
    application_id TEXT NOT NULL,
    region TEXT NOT NULL,
    PRIMARY KEY (id_index, kind)
);
CREATE INDEX application_people_application ON application_people (application_id);

-- §6: grievances. The description and the complainant's name are in record_sealed; the
-- columns are what lists and escalation filter on. state: filed, in_hand, resolved.
CREATE TABLE grievances (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    state TEXT NOT NULL,
    deadline TEXT NOT NULL,
    escalated BIGINT NOT NULL,
    record_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX grievances_open ON grievances (state, deadline);
