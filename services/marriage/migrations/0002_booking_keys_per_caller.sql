-- A booking is its own idempotency record: the request id and the fingerprint of the request
-- that made it live on the appointment row, unique per caller (booked_by = the caller's
-- subject). A request id is scoped to the caller who sent it (AIP-155, Defects #12 item 3): the
-- same id from another caller is another request, never the first caller's answer. Bookings no
-- longer write the shared idempotency table (Pipeline #13 item 7).
ALTER TABLE appointments ADD COLUMN request_id TEXT;
ALTER TABLE appointments ADD COLUMN request_fingerprint TEXT;
CREATE UNIQUE INDEX appointments_by_request ON appointments (booked_by, request_id);
