-- The declarant (申报人) of a death: sealed identity number, its keyed blind index, sealed name,
-- relationship, and whether a funeral home recorded it at the desk. Empty when none was given.
ALTER TABLE death_cases ADD COLUMN declarant_index TEXT NOT NULL DEFAULT '';
ALTER TABLE death_cases ADD COLUMN declarant_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE death_cases ADD COLUMN declarant_name_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE death_cases ADD COLUMN declarant_relationship TEXT NOT NULL DEFAULT '';
ALTER TABLE death_cases ADD COLUMN declarant_at_desk BIGINT NOT NULL DEFAULT 0;
