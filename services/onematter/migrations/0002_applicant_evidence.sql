-- Why a case's applicant may act for its matter (Defects issue item 1): '' while a case started
-- without application waits for the family; 'own_matter', 'death_registration',
-- 'household_register' or 'clerk' once someone applied or joined on that evidence.
ALTER TABLE cases ADD COLUMN applicant_evidence TEXT NOT NULL DEFAULT '';
