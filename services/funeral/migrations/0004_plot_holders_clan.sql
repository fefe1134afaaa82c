-- Rules #14 (funeral): the lease holder (墓穴使用证持有人), lease transfers where the county
-- allows them, and further deceased in a family plot where the county allows them.
ALTER TABLE plots ADD COLUMN holder_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE plots ADD COLUMN holder_name_sealed TEXT NOT NULL DEFAULT '';

CREATE TABLE plot_transfers (
    id TEXT PRIMARY KEY,
    cemetery_id TEXT NOT NULL,
    plot_number TEXT NOT NULL,
    from_sealed TEXT NOT NULL,
    from_name_sealed TEXT NOT NULL,
    to_sealed TEXT NOT NULL,
    to_name_sealed TEXT NOT NULL,
    relationship TEXT NOT NULL,
    transferred_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX plot_transfers_plot ON plot_transfers (cemetery_id, plot_number, id);

CREATE TABLE plot_occupants (
    cemetery_id TEXT NOT NULL,
    plot_number TEXT NOT NULL,
    person_index TEXT NOT NULL,
    person_sealed TEXT NOT NULL,
    joined_on TEXT NOT NULL,
    PRIMARY KEY (cemetery_id, plot_number, person_index)
);
