-- The SQL one GrantTemporaryAssistance RPC commits (two-member household), replayed by pgbench
-- as the baseline of tests/benches/durable_write.rs. Sizes follow the real rows: sealed record
-- ~1.2 kB base64, 64-hex blind indexes, ~200-byte outbox payload and stored response.
\set n random(1, 1000000000)
BEGIN;
INSERT INTO idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms)
  VALUES ('GrantTemporaryAssistance', 'pgb-' || :client_id || '-' || :n || '-' || md5(random()::text), md5(random()::text) || md5(random()::text), '', 1)
  ON CONFLICT (rpc, request_id) DO NOTHING;
INSERT INTO benefits (id, kind, state, region, paid_from, ends, record_sealed, version, updated_at_ms)
  VALUES ('pgb-' || md5(random()::text), 'temporary', 'active', '330723001', '2026-12', '2027-01', repeat(md5(random()::text), 38), 1, 1);
INSERT INTO benefit_members (benefit_id, id_index) VALUES ('pgb-' || md5(random()::text), md5(random()::text) || md5(random()::text)) ON CONFLICT (benefit_id, id_index) DO NOTHING;
INSERT INTO benefit_members (benefit_id, id_index) VALUES ('pgb-' || md5(random()::text), md5(random()::text) || md5(random()::text)) ON CONFLICT (benefit_id, id_index) DO NOTHING;
INSERT INTO outbox (id, topic, event_type, event_key, payload, traceparent, created_at_ms, published_at_ms)
  VALUES ('pgb-' || md5(random()::text), 'assistance.benefit_approved', 'civil.assistance.v1.BenefitApproved', md5(random()::text), repeat(md5(random()::text), 6), '00-' || md5(random()::text) || '-' || substr(md5(random()::text), 1, 16) || '-01', 1, NULL);
UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash;
INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash)
  VALUES ((SELECT seq FROM audit_head WHERE id = 1), 1, 'bench-clerk', '', 'assistance.GrantTemporaryAssistance', md5(random()::text), 'ok', md5(random()::text), '', md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text));
UPDATE audit_head SET hash = md5(random()::text) || md5(random()::text) WHERE id = 1;
UPDATE idempotency_keys SET response = repeat(md5(random()::text), 8) WHERE rpc = 'GrantTemporaryAssistance' AND request_id = 'none';
COMMIT;
