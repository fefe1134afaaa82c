-- 近亲属备案: close relatives of civil-affairs staff and village officials. Every application
-- is checked against it by the members' blind indexes; the record itself is sealed.
CREATE TABLE close_relatives (
    id TEXT PRIMARY KEY,
    id_index TEXT NOT NULL,
    official_subject TEXT NOT NULL,
    official_region TEXT NOT NULL,
    record_sealed TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL
);
CREATE INDEX close_relatives_person ON close_relatives (id_index);
