-- Each party's signed declaration (no spouse, no prohibited kinship, free will: arts. 1042,
-- 1046, 1048) is kept with the marriage record: the statements signed, comma-separated.
-- NULL for records made before declarations were recorded.
ALTER TABLE marriages ADD COLUMN a_declaration TEXT;
ALTER TABLE marriages ADD COLUMN b_declaration TEXT;
