-- Refusals decided at the desk, with their reason, the parties (blind indexes only) and the
-- registrar, listable by office (Rules #14). Written in their own transaction after the refused
-- effect rolled back; a retried request id records its refusal once.
CREATE TABLE desk_refusals (
    refusal_id TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    rpc TEXT NOT NULL,
    request_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    party_a_index TEXT NOT NULL,
    party_b_index TEXT NOT NULL,
    registrar TEXT NOT NULL,
    refused_on TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX desk_refusals_once ON desk_refusals (registrar, rpc, request_id);
CREATE INDEX desk_refusals_by_office ON desk_refusals (office_id, refusal_id);
