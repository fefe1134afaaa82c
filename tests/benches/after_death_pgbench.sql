-- One after-death case's commit sequence on PostgreSQL, replayed by pgbench as the baseline of
-- tests/benches/after_death.rs: one script run = one case (pgbench's tps = cases/s).
-- Captured with tests/benches/capture_case_sql.sh (log_statement = 'all', one unloaded case):
-- the same transactions in the same order, the same statement shapes (the executor's clock
-- reads, the case reads of each step's preparation and the services' idempotency, audit and
-- outbox rows included), values of the captured sizes. {{p}} is the schema prefix of the
-- suite the bench just ran (the bench substitutes it); keys derive from :c, so runs never
-- collide. Idle polling (outbox relays and claims that found nothing) is not part of it.
--
-- RETURNING values the code reuses (clock, event_seq, audit seq/hash) go through \gset, as the
-- code reuses them; ':' is concatenated where a key holds ':name' (pgbench would read a variable).
-- Run with -M prepared (sqlx prepares every statement).
--
-- Captured 2026-11-26: 54 transactions (22 writing), 223 statements:
-- onematter 41 tx / 174 statements, funeral 5 / 20, assistance 4 / 13, marriage 1 / 9,
-- socialorg 2 / 4, eldercare 1 / 3. The outside systems (household, pensions, medical
-- insurance) are doubles without a database.
\set c random(1, 9000000000000000000)

-- 1. StartCase (onematter): request id, case, nine steps, first case update, audit, response
BEGIN;
INSERT INTO {{p}}onematter.idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES ('StartCase', 'apply-' || :c::text, (md5(random()::text) || md5(random()::text)), '', 1795717471352) ON CONFLICT (rpc, request_id) DO NOTHING;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
INSERT INTO {{p}}onematter.cases (id, kind, state, dedupe_key, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms) VALUES (lpad(:c::text, 36, 'c0-'), 'after_death', 'running', 'after_death:' || (md5(:c::text) || md5('p' || :c::text)), '330723101001', 'family-1', repeat(md5(random()::text), 3), (md5(random()::text) || md5(random()::text)), 'child', repeat(md5(random()::text), 3), (md5(:c::text) || md5('p' || :c::text)), substr(repeat(md5(random()::text), 6), 1, 184), '{}', '', 'application', '00-' || md5(:c::text) || '-' || substr(md5('s' || :c::text), 1, 16) || '-01', 0, :now_ms::bigint, :now_ms::bigint) ON CONFLICT (dedupe_key) DO NOTHING;
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/funeral_death_case', lpad(:c::text, 36, 'c0-'), 'funeral_death_case', 0, 'ready', 'do', 0, 0, 0, 6, :now_ms::bigint, 259200000, :now_ms::bigint + 259200000, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/funeral_fee_waiver', lpad(:c::text, 36, 'c0-'), 'funeral_fee_waiver', 1, 'blocked', 'do', 0, 1, 0, 6, :now_ms::bigint, 259200000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/assistance_terminate', lpad(:c::text, 36, 'c0-'), 'assistance_terminate', 2, 'blocked', 'do', 0, 1, 0, 6, :now_ms::bigint, 259200000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/eldercare_stop', lpad(:c::text, 36, 'c0-'), 'eldercare_stop', 3, 'blocked', 'do', 0, 1, 0, 6, :now_ms::bigint, 259200000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/marriage_record_death', lpad(:c::text, 36, 'c0-'), 'marriage_record_death', 4, 'blocked', 'do', 0, 1, 0, 6, :now_ms::bigint, 259200000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/socialorg_representatives', lpad(:c::text, 36, 'c0-'), 'socialorg_representatives', 5, 'blocked', 'do', 0, 1, 0, 6, :now_ms::bigint, 259200000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/household_deregistration', lpad(:c::text, 36, 'c0-'), 'household_deregistration', 6, 'blocked', 'do', 0, 1, 0, 10, :now_ms::bigint, 604800000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/pension_stop', lpad(:c::text, 36, 'c0-'), 'pension_stop', 7, 'blocked', 'do', 0, 1, 0, 10, :now_ms::bigint, 604800000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
INSERT INTO {{p}}onematter.case_steps (id, case_id, step, position, state, phase, compensable, pending_deps, attempts, max_attempts, next_run_at_ms, deadline_ms, deadline_at_ms, lease_token, lease_until_ms, leased_by, output, summary, last_error, done_seq, started_at_ms, finished_at_ms) VALUES (lpad(:c::text, 36, 'c0-') || '/medical_insurance_end', lpad(:c::text, 36, 'c0-'), 'medical_insurance_end', 8, 'blocked', 'do', 0, 1, 0, 10, :now_ms::bigint, 604800000, NULL, 0, NULL, '', 'null', '', '', NULL, NULL, NULL);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'case_started', '', 'origin: application', :state, :now_ms::bigint);
UPDATE {{p}}onematter.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}onematter.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'family-1', 'family-1', 'onematter.case.start', 'cases/' || lpad(:c::text, 36, 'c0-'), 'ok', md5(:c::text), '', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}onematter.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
UPDATE {{p}}onematter.idempotency_keys SET response = substr(repeat(md5(random()::text), 26), 1, 816) WHERE rpc = 'StartCase' AND request_id = 'apply-' || :c::text;
COMMIT;

-- 2. claim funeral_death_case
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
UPDATE {{p}}onematter.case_steps SET state = 'running', attempts = attempts + 1, lease_token = lease_token + 1, lease_until_ms = :now_ms::bigint + 60000, leased_by = 'onematter-14780-01a2191a17e7735a93bbd77fb4fdcf68', started_at_ms = :now_ms::bigint WHERE id IN ( SELECT s.id FROM {{p}}onematter.case_steps s JOIN {{p}}onematter.cases c ON c.id = s.case_id WHERE c.state IN ('running', 'compensating', 'parked') AND ((s.state = 'ready' AND s.next_run_at_ms <= :now_ms::bigint) OR (s.state = 'running' AND s.lease_until_ms < :now_ms::bigint)) ORDER BY s.next_run_at_ms, s.id LIMIT 16 FOR UPDATE OF s SKIP LOCKED) RETURNING id, case_id, step, phase, attempts, max_attempts, lease_token, deadline_at_ms;
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'funeral_death_case', 'attempt 1', :state, :now_ms::bigint);
COMMIT;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- 3. funeral RegisterDeath
BEGIN;
INSERT INTO {{p}}funeral.idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES ('RegisterDeath', lpad(:c::text, 36, 'c0-') || ':' || 'funeral_death_case' || ':' || 'do', (md5(random()::text) || md5(random()::text)), '', :now_ms::bigint) ON CONFLICT (rpc, request_id) DO NOTHING;
SELECT id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number, date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place FROM {{p}}funeral.death_cases WHERE person_index = (md5(:c::text) || md5('p' || :c::text));
INSERT INTO {{p}}funeral.death_cases (id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number, date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place, created_at_ms, updated_at_ms) VALUES (lpad(:c::text, 36, 'd0-'), (md5(:c::text) || md5('p' || :c::text)), (md5(random()::text) || md5(random()::text)), substr((md5(random()::text) || md5(random()::text)), 1, 52), '330723101001', 'ETHNICITY_HAN', 'CERTIFICATE_ISSUER_MEDICAL', 'YX-E2E-0001', '2026-11-27', '县人民医院', 'CAUSE_CLASS_DISEASE', 'registered', NULL, NULL, :now_ms::bigint, :now_ms::bigint) ON CONFLICT (person_index) DO NOTHING;
INSERT INTO {{p}}funeral.outbox (id, topic, event_type, event_key, payload, traceparent, created_at_ms, published_at_ms) VALUES (lpad(:c::text, 36, 'e0-'), 'funeral.death_registered', 'civil.funeral.v1.DeathRegistered', lpad(:c::text, 36, 'd0-'), substr(repeat(md5(random()::text), 6), 1, 180), '00-' || md5(:c::text) || '-' || substr(md5('s' || :c::text), 1, 16) || '-01', :now_ms::bigint, NULL);
UPDATE {{p}}funeral.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}funeral.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'svc-onematter', 'family-1', 'funeral.RegisterDeath', 'cases/' || lpad(:c::text, 36, 'd0-'), 'ok', md5(:c::text), '', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}funeral.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
SELECT kind, location, event_date FROM {{p}}funeral.custody_events WHERE case_id = lpad(:c::text, 36, 'd0-') ORDER BY id;
UPDATE {{p}}funeral.idempotency_keys SET response = substr(repeat(md5(random()::text), 6), 1, 184) WHERE rpc = 'RegisterDeath' AND request_id = lpad(:c::text, 36, 'c0-') || ':' || 'funeral_death_case' || ':' || 'do';
COMMIT;
-- record funeral_death_case: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"cremation_certificate_number": "", "date_of_death": "2026-11-27", "death_case": "cases/' || lpad(:c::text, 36, 'd0-') || '", "deceased": "' || substr(repeat(md5(random()::text), 6), 1, 150) || '"}', output), summary = COALESCE('death registered: cases/01a2191a-1c8e-74b4-aa47-81994bf867ff', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/funeral_death_case' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'funeral_death_case', 'death registered: cases/01a2191a-1c8e-74b4-aa47-81994bf867ff', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'funeral_death_case';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'funeral_fee_waiver';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'assistance_terminate';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'eldercare_stop';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'marriage_record_death';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'socialorg_representatives';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'household_deregistration';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'pension_stop';
UPDATE {{p}}onematter.case_steps SET pending_deps = pending_deps - 1 WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'medical_insurance_end';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;

-- 4. claim the eight dependants in one transaction, prepare each
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
UPDATE {{p}}onematter.case_steps SET state = 'running', attempts = attempts + 1, lease_token = lease_token + 1, lease_until_ms = :now_ms::bigint + 60000, leased_by = 'onematter-14780-01a2191a17e7735a93bbd77fb4fdcf68', started_at_ms = :now_ms::bigint WHERE id IN ( SELECT s.id FROM {{p}}onematter.case_steps s JOIN {{p}}onematter.cases c ON c.id = s.case_id WHERE c.state IN ('running', 'compensating', 'parked') AND ((s.state = 'ready' AND s.next_run_at_ms <= :now_ms::bigint) OR (s.state = 'running' AND s.lease_until_ms < :now_ms::bigint)) ORDER BY s.next_run_at_ms, s.id LIMIT 16 FOR UPDATE OF s SKIP LOCKED) RETURNING id, case_id, step, phase, attempts, max_attempts, lease_token, deadline_at_ms;
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'funeral_fee_waiver', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'assistance_terminate', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'eldercare_stop', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'marriage_record_death', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'socialorg_representatives', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'household_deregistration', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'pension_stop', 'attempt 1', :state, :now_ms::bigint);
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_started', 'medical_insurance_end', 'attempt 1', :state, :now_ms::bigint);
COMMIT;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
-- prepare (autocommit): clock, the case and its steps
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;

-- 5. the steps' RPCs in the services
-- socialorg ListByLegalRepresentative (read; its audit row is written by the batching writer)
SELECT id, credit_code, kind, field, name, region, address, rep_index, rep_id_sealed, rep_name_sealed, supervisory_unit, individual_members, unit_members, funds_fen, public_fundraising, status, received_on, registered_on, decision_due, ended_on FROM {{p}}socialorg.organisations WHERE rep_index = (md5(:c::text) || md5('p' || :c::text)) AND status = 'ACTIVE' ORDER BY id;
-- eldercare StopForDeath (not an elder: nothing to stop)
BEGIN;
INSERT INTO {{p}}eldercare.idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES ('StopForDeath', lpad(:c::text, 36, 'c0-') || ':' || 'eldercare_stop' || ':' || 'do', (md5(random()::text) || md5(random()::text)), '', :now_ms::bigint) ON CONFLICT (rpc, request_id) DO NOTHING;
SELECT id, person_index, id_sealed, name_sealed, birth_date, region, situations, bracket, payable_from, date_of_death, last_paid_month, death_allowance_stopped, death_bed_released, ability_level, institution_id, nursing_bed FROM {{p}}eldercare.elders WHERE person_index = (md5(:c::text) || md5('p' || :c::text));
UPDATE {{p}}eldercare.idempotency_keys SET response = '' WHERE rpc = 'StopForDeath' AND request_id = lpad(:c::text, 36, 'c0-') || ':' || 'eldercare_stop' || ':' || 'do';
COMMIT;
-- funeral fee waiver: reads the death case and any decision, asks assistance
SELECT id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number, date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place FROM {{p}}funeral.death_cases WHERE person_index = (md5(:c::text) || md5('p' || :c::text));
SELECT waived, grounds, source, benefit_kinds_seen, checked_at_ms FROM {{p}}funeral.fee_waivers WHERE case_id = lpad(:c::text, 36, 'd0-');
SELECT b.record_sealed, b.version FROM {{p}}assistance.benefits b JOIN {{p}}assistance.benefit_members m ON m.benefit_id = b.id WHERE m.id_index = (md5(:c::text) || md5('p' || :c::text)) ORDER BY b.id;
-- assistance TerminateForDeath
BEGIN;
INSERT INTO {{p}}assistance.idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES ('TerminateForDeath', lpad(:c::text, 36, 'c0-') || ':' || 'assistance_terminate' || ':' || 'do', (md5(random()::text) || md5(random()::text)), '', :now_ms::bigint) ON CONFLICT (rpc, request_id) DO NOTHING;
SELECT response FROM {{p}}assistance.deaths WHERE id_index = (md5(:c::text) || md5('p' || :c::text));
SELECT b.record_sealed, b.version FROM {{p}}assistance.benefits b JOIN {{p}}assistance.benefit_members m ON m.benefit_id = b.id WHERE m.id_index = (md5(:c::text) || md5('p' || :c::text)) ORDER BY b.id;
INSERT INTO {{p}}assistance.deaths (id_index, date_of_death, response, recorded_at_ms) VALUES ((md5(:c::text) || md5('p' || :c::text)), '2026-11-27', '', :now_ms::bigint);
UPDATE {{p}}assistance.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}assistance.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'svc-onematter', 'family-1', 'assistance.TerminateForDeath', (md5(:c::text) || md5('p' || :c::text)), 'ok', md5(:c::text), '', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}assistance.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
UPDATE {{p}}assistance.idempotency_keys SET response = '' WHERE rpc = 'TerminateForDeath' AND request_id = lpad(:c::text, 36, 'c0-') || ':' || 'assistance_terminate' || ':' || 'do';
COMMIT;
SELECT response FROM {{p}}assistance.deaths WHERE id_index = (md5(:c::text) || md5('p' || :c::text));
-- marriage RecordDeath
BEGIN;
INSERT INTO {{p}}marriage.idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES ('RecordDeath', lpad(:c::text, 36, 'c0-') || ':' || 'marriage_record_death' || ':' || 'do', (md5(random()::text) || md5(random()::text)), '', :now_ms::bigint) ON CONFLICT (rpc, request_id) DO NOTHING;
INSERT INTO {{p}}marriage.persons (id_index, id_sealed, name, died_on, death_marriage, version) VALUES ((md5(:c::text) || md5('p' || :c::text)), (md5(random()::text) || md5(random()::text)), '王大明', NULL, NULL, 1) ON CONFLICT (id_index) DO UPDATE SET version = persons.version + 1;
SELECT id_sealed, name, died_on, death_marriage FROM {{p}}marriage.persons WHERE id_index = (md5(:c::text) || md5('p' || :c::text));
SELECT certificate_number, office_id, registration_date, registrar, state, ended_on, deceased_index, a_index, a_sealed, a_name, a_sex, a_birth, b_index, b_sealed, b_name, b_sex, b_birth FROM {{p}}marriage.marriages WHERE a_index = (md5(:c::text) || md5('p' || :c::text)) UNION ALL SELECT certificate_number, office_id, registration_date, registrar, state, ended_on, deceased_index, a_index, a_sealed, a_name, a_sex, a_birth, b_index, b_sealed, b_name, b_sex, b_birth FROM {{p}}marriage.marriages WHERE b_index = (md5(:c::text) || md5('p' || :c::text));
UPDATE {{p}}marriage.persons SET died_on = '2026-11-27', death_marriage = NULL WHERE id_index = (md5(:c::text) || md5('p' || :c::text)) AND died_on IS NULL;
UPDATE {{p}}marriage.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}marriage.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'svc-onematter', 'family-1', 'RecordDeath', (md5(:c::text) || md5('p' || :c::text)), 'ok', md5(:c::text), '', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}marriage.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
UPDATE {{p}}marriage.idempotency_keys SET response = substr(md5(random()::text) || md5(random()::text), 1, 56) WHERE rpc = 'RecordDeath' AND request_id = lpad(:c::text, 36, 'c0-') || ':' || 'marriage_record_death' || ':' || 'do';
COMMIT;
-- funeral DecideFeeWaiver
BEGIN;
INSERT INTO {{p}}funeral.idempotency_keys (rpc, request_id, fingerprint, response, created_at_ms) VALUES ('DecideFeeWaiver', lpad(:c::text, 36, 'c0-') || ':' || 'funeral_fee_waiver' || ':' || 'do', (md5(random()::text) || md5(random()::text)), '', :now_ms::bigint) ON CONFLICT (rpc, request_id) DO NOTHING;
INSERT INTO {{p}}funeral.fee_waivers (case_id, waived, grounds, source, benefit_kinds_seen, checked_at_ms, decided_by) VALUES (lpad(:c::text, 36, 'd0-'), 0, '', 'assistance', '', :now_ms::bigint, 'svc-onematter') ON CONFLICT (case_id) DO NOTHING;
UPDATE {{p}}funeral.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}funeral.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'svc-onematter', 'family-1', 'funeral.DecideFeeWaiver', 'cases/' || lpad(:c::text, 36, 'd0-'), 'ok', md5(:c::text), 'basic funeral fee waiver', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}funeral.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
SELECT waived, grounds, source, benefit_kinds_seen, checked_at_ms FROM {{p}}funeral.fee_waivers WHERE case_id = lpad(:c::text, 36, 'd0-');
UPDATE {{p}}funeral.idempotency_keys SET response = substr(repeat(md5(random()::text), 3), 1, 88) WHERE rpc = 'DecideFeeWaiver' AND request_id = lpad(:c::text, 36, 'c0-') || ':' || 'funeral_fee_waiver' || ':' || 'do';
COMMIT;
-- the batching audit writers of socialorg and assistance (reads of personal data)
BEGIN;
UPDATE {{p}}socialorg.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}socialorg.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'svc-onematter', 'family-1', 'socialorg.ListByLegalRepresentative', 'people/' || (md5(:c::text) || md5('p' || :c::text)), 'ok', md5(:c::text), 'read personal data', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}socialorg.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
COMMIT;
BEGIN;
UPDATE {{p}}assistance.audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq AS a_seq, hash AS a_hash \gset
INSERT INTO {{p}}assistance.audit_log (seq, at_ms, actor, on_behalf_of, action, object, outcome, trace_id, purpose, prev_hash, hash) VALUES (:a_seq::bigint, :now_ms::bigint, 'svc-onematter', 'family-1', 'assistance.ListBenefits', 'people/' || (md5(:c::text) || md5('p' || :c::text)), 'ok', md5(:c::text), 'read personal data', :a_hash, (md5(random()::text) || md5(random()::text)));
UPDATE {{p}}assistance.audit_head SET hash = (md5(random()::text) || md5(random()::text)) WHERE id = 1;
COMMIT;

-- 6. record the eight steps (the last one completes the case)
-- record household_deregistration: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"deregistered": true}', output), summary = COALESCE('household registration deregistered', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/household_deregistration' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'household_deregistration', 'household registration deregistered', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'household_deregistration';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record socialorg_representatives: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"tasks": []}', output), summary = COALESCE('not the legal representative of any active organisation', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/socialorg_representatives' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'socialorg_representatives', 'not the legal representative of any active organisation', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'socialorg_representatives';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record pension_stop: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"insured": true, "stopped_from_month": "next month"}', output), summary = COALESCE('pension stopped from next month; survivors benefits claimable', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/pension_stop' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'pension_stop', 'pension stopped from next month; survivors benefits claimable', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'pension_stop';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record medical_insurance_end: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"ended": true}', output), summary = COALESCE('medical insurance ended', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/medical_insurance_end' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'medical_insurance_end', 'medical insurance ended', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'medical_insurance_end';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record eldercare_stop: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"elder": false}', output), summary = COALESCE('not a registered elder', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/eldercare_stop' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'eldercare_stop', 'not a registered elder', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'eldercare_stop';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record marriage_record_death: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"marriage": "", "spouse_widowed": false}', output), summary = COALESCE('no marriage in effect', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/marriage_record_death' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'marriage_record_death', 'no marriage in effect', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'marriage_record_death';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record assistance_terminate: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"ended": 0, "recalculated": 0}', output), summary = COALESCE('no assistance benefits', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/assistance_terminate' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'assistance_terminate', 'no assistance benefits', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'assistance_terminate';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
COMMIT;
-- record funeral_fee_waiver: output, released dependants, case update in one transaction
BEGIN;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET state = 'succeeded', next_run_at_ms = :now_ms::bigint, output = COALESCE('{"waived": false}', output), summary = COALESCE('no fee waiver', summary), last_error = '', attempts = CASE WHEN 0 = 1 THEN 0 ELSE attempts END, lease_until_ms = NULL, leased_by = '', finished_at_ms = CASE WHEN 1 = 1 THEN :now_ms::bigint ELSE finished_at_ms END WHERE id = lpad(:c::text, 36, 'c0-') || '/funeral_fee_waiver' AND lease_token = 1 AND state = 'running';
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'step_succeeded', 'funeral_fee_waiver', 'no fee waiver', :state, :now_ms::bigint);
SELECT kind, state, reason FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.case_steps SET done_seq = :event_seq::bigint WHERE case_id = lpad(:c::text, 36, 'c0-') AND step = 'funeral_fee_waiver';
UPDATE {{p}}onematter.case_steps SET state = 'ready', next_run_at_ms = :now_ms::bigint, deadline_at_ms = :now_ms::bigint + deadline_ms WHERE case_id = lpad(:c::text, 36, 'c0-') AND state = 'blocked' AND pending_deps <= 0 RETURNING step;
SELECT COUNT(*) AS n FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') AND state IN ('blocked', 'ready', 'running', 'failed');
UPDATE {{p}}onematter.cases SET state = 'completed', reason = COALESCE(NULL, reason) WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'case_completed', '', '', :state, :now_ms::bigint);
SELECT id, kind, state, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
SELECT step, state, phase, attempts, max_attempts, next_run_at_ms, lease_token, summary, last_error, output, started_at_ms, finished_at_ms FROM {{p}}onematter.case_steps WHERE case_id = lpad(:c::text, 36, 'c0-') ORDER BY position;
INSERT INTO {{p}}onematter.outbox (id, topic, event_type, event_key, payload, traceparent, created_at_ms, published_at_ms) VALUES (lpad(:c::text, 36, 'f0-'), 'onematter.case_finished', 'civil.onematter.v1.CaseFinished', lpad(:c::text, 36, 'c0-'), substr(repeat(md5(random()::text), 3), 1, 84), '', :now_ms::bigint, NULL);
COMMIT;

-- 7. funeral's outbox relay publishes DeathRegistered; onematter consumes it (the case exists:
--    facts merged); onematter's relay publishes CaseFinished
BEGIN;
SELECT id, topic, event_type, event_key, payload, traceparent, created_at_ms FROM {{p}}funeral.outbox WHERE published_at_ms IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE {{p}}funeral.outbox SET published_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'e0-');
COMMIT;
BEGIN;
INSERT INTO {{p}}onematter.inbox (consumer, event_id, processed_at_ms) VALUES ('onematter.after_death', lpad(:c::text, 36, 'e0-'), :now_ms::bigint) ON CONFLICT (consumer, event_id) DO NOTHING;
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now_ms \gset
INSERT INTO {{p}}onematter.cases (id, kind, state, dedupe_key, region, applicant, declarant_sealed, declarant_index, declarant_relationship, subject_sealed, subject_index, input_sealed, facts, reason, origin, traceparent, event_seq, created_at_ms, updated_at_ms) VALUES (lpad(:c::text, 36, 'g0-'), 'after_death', 'running', 'after_death:' || (md5(:c::text) || md5('p' || :c::text)), '330723101001', '', '', '', '', repeat(md5(random()::text), 3), (md5(:c::text) || md5('p' || :c::text)), substr(repeat(md5(random()::text), 6), 1, 184), '{}', '', 'funeral.death_registered', '00-' || md5(:c::text) || '-' || substr(md5('s' || :c::text), 1, 16) || '-01', 0, :now_ms::bigint, :now_ms::bigint) ON CONFLICT (dedupe_key) DO NOTHING;
SELECT id FROM {{p}}onematter.cases WHERE dedupe_key = 'after_death:' || (md5(:c::text) || md5('p' || :c::text));
SELECT facts FROM {{p}}onematter.cases WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.cases SET facts = '{"death_case": "cases/' || lpad(:c::text, 36, 'd0-') || '"}' WHERE id = lpad(:c::text, 36, 'c0-');
UPDATE {{p}}onematter.cases SET event_seq = event_seq + 1, updated_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'c0-') RETURNING event_seq, state \gset
INSERT INTO {{p}}onematter.case_events (case_id, seq, kind, step, message, case_state, at_ms) VALUES (lpad(:c::text, 36, 'c0-'), :event_seq::bigint, 'death_registered', '', 'funeral registered the death: cases/01a2191a-1c8e-74b4-aa47-81994bf867ff', :state, :now_ms::bigint);
COMMIT;
BEGIN;
SELECT id, topic, event_type, event_key, payload, traceparent, created_at_ms FROM {{p}}onematter.outbox WHERE published_at_ms IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE {{p}}onematter.outbox SET published_at_ms = :now_ms::bigint WHERE id = lpad(:c::text, 36, 'f0-');
COMMIT;
