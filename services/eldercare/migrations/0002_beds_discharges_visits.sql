-- Beds with ids and types, residencies (admission to discharge: the discharge records), visits
-- outside the schedule, and the basis of an elder's care subsidy. Portable SQL.

-- One row per bed; the institution's bed counts are derived from these rows. elder_id is the
-- occupant (an elder holds at most one bed).
CREATE TABLE beds (
    id TEXT PRIMARY KEY,
    institution_id TEXT NOT NULL,
    label TEXT NOT NULL,
    seq BIGINT NOT NULL,
    bed_type TEXT NOT NULL,
    elder_id TEXT,
    UNIQUE (institution_id, label)
);
CREATE INDEX beds_institution ON beds (institution_id, seq);
CREATE UNIQUE INDEX beds_elder ON beds (elder_id);

-- Beds of institutions registered before: nursing beds first, labelled by number.
WITH RECURSIVE n(k) AS (
    SELECT 1
    UNION ALL
    SELECT k + 1 FROM n WHERE k < (SELECT COALESCE(MAX(beds), 0) FROM institutions)
)
INSERT INTO beds (id, institution_id, label, seq, bed_type, elder_id)
SELECT i.id || '-' || CAST(n.k AS TEXT), i.id, CAST(n.k AS TEXT), n.k,
       CASE WHEN n.k <= i.nursing_beds THEN 'nursing' ELSE 'general' END, NULL
FROM institutions i JOIN n ON n.k <= i.beds;

-- Present residents take the beds of their type in order.
UPDATE beds SET elder_id = (
    SELECT r.id FROM (
        SELECT id, institution_id, nursing_bed,
               ROW_NUMBER() OVER (PARTITION BY institution_id, nursing_bed ORDER BY id) AS rn
        FROM elders WHERE institution_id IS NOT NULL
    ) r
    WHERE r.institution_id = beds.institution_id
      AND r.nursing_bed = (CASE WHEN beds.bed_type = 'nursing' THEN 1 ELSE 0 END)
      AND r.rn = (CASE WHEN beds.bed_type = 'nursing' THEN beds.seq
                  ELSE beds.seq - (SELECT i.nursing_beds FROM institutions i WHERE i.id = beds.institution_id) END)
);

-- A bed's type changes, with when, why and who.
CREATE TABLE bed_type_changes (
    id TEXT PRIMARY KEY,
    bed_id TEXT NOT NULL,
    from_type TEXT NOT NULL,
    to_type TEXT NOT NULL,
    changed_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

-- One row per stay; a discharged stay is the discharge record. admitted_on is NULL for stays
-- that began before beds were recorded.
CREATE TABLE residencies (
    id TEXT PRIMARY KEY,
    institution_id TEXT NOT NULL,
    elder_id TEXT NOT NULL,
    bed_id TEXT NOT NULL,
    bed_type TEXT NOT NULL,
    admitted_on TEXT,
    discharged_on TEXT,
    discharge_reason TEXT,
    discharge_note TEXT NOT NULL,
    discharged_by TEXT
);
CREATE INDEX residencies_institution ON residencies (institution_id, discharged_on);
CREATE INDEX residencies_elder ON residencies (elder_id, discharged_on);

INSERT INTO residencies (id, institution_id, elder_id, bed_id, bed_type, admitted_on, discharged_on,
    discharge_reason, discharge_note, discharged_by)
SELECT 'legacy-' || b.id, b.institution_id, b.elder_id, b.id, b.bed_type, NULL, NULL, NULL, '', NULL
FROM beds b WHERE b.elder_id IS NOT NULL;

-- 0 for a visit to an elder not on the month's schedule (not counted in the rate).
ALTER TABLE visits ADD COLUMN scheduled BIGINT NOT NULL DEFAULT 1;

-- The care subsidy's basis (an assistance benefit, e.g. 特困) and its first month.
ALTER TABLE elders ADD COLUMN care_basis_benefit TEXT;
ALTER TABLE elders ADD COLUMN care_eligible_from TEXT;
