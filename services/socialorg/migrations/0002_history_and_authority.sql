-- Who registered a change and why, and the old and new legal representative (sealed: name and
-- identity number), so the history answers who, from, to, when and why (Rules #14).
ALTER TABLE organisation_changes ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';
ALTER TABLE organisation_changes ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE organisation_changes ADD COLUMN from_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE organisation_changes ADD COLUMN to_sealed TEXT NOT NULL DEFAULT '';

-- The registration authority that decided a listing (shown on the public lists).
ALTER TABLE listings ADD COLUMN deciding_authority TEXT NOT NULL DEFAULT '';
