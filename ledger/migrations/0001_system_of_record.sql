-- ledger/migrations/0001_system_of_record.sql: the system of record (DESIGN.md "Where data lives",
-- API.md "v1 additions"). Applied once, in one transaction, under the migration advisory lock
-- (ledger/migrations.hpp); never edited after release: later changes are new numbered files.
--
-- Who writes what:
--   submissions           the worker, once a submission is calculated (or dead-lettered), BEFORE it
--                         acknowledges the queue entry; idempotent upsert keyed by submission_id
--   declarations          the gateway (POST /v1/declarations), committed before it answers 201
--   idempotency_records   the gateway, in the same transaction as the declaration or decision it
--                         answers for, so a retry replays exactly what was committed
-- Everything is kept ledger.retention_days (default seven years): see ledger/retention.hpp.
--
-- Conventions: codes and ids are text exactly as the API shows them; times are timestamptz (the
-- API prints them RFC 3339 UTC with milliseconds); money and points are exact numerics, never
-- floating point (API.md "Money and numbers").

-- Every admitted submission whose processing ended: its receipt, and its result or its failure.
-- `current` (API.md) is not stored: it is the latest received_at for the practice, period and
-- scheme (the view current_submissions), so a later submission supersedes without rewriting
-- the earlier one's row.
CREATE TABLE submissions (
    submission_id   text PRIMARY KEY,                     -- "10-3f9c...": encodes its queue shard
    practice        text NOT NULL,                        -- ODS code, A81001
    period          text,                                 -- "2024-25"; NULL only for a failed body
    scheme          text,                                 -- "QOF", "LDHC", ...; as period
    idempotency_key text,                                 -- NULL for entries queued before it was carried
    received_at     timestamptz NOT NULL,                 -- the receipt's, as the gateway stamped it
    content_sha256  text NOT NULL,                        -- the receipt's: hex SHA-256 of the body
    status          text NOT NULL,
    attempts        integer NOT NULL,                     -- deliveries it took (Redis's count)
    result          text,                                 -- the result JSON, byte for byte as served:
                                                          -- statement_sha256 is computed over it
    points          numeric(12, 2),                       -- the result's, for declarations and statements
    payment_gbp     numeric(15, 2),
    error           text,                                 -- why it failed
    calculated_at   timestamptz,                          -- when the result (or failure) was produced
    recorded_at     timestamptz NOT NULL DEFAULT now(),   -- when this row was first written
    CONSTRAINT submissions_status CHECK (status IN ('calculated', 'failed')),
    CONSTRAINT submissions_calculated_has_result CHECK (
        (status = 'calculated') = (result IS NOT NULL AND points IS NOT NULL AND payment_gbp IS NOT NULL)),
    CONSTRAINT submissions_failed_has_error CHECK ((status = 'failed') = (error IS NOT NULL)),
    CONSTRAINT submissions_period_with_scheme CHECK ((period IS NULL) = (scheme IS NULL)),
    CONSTRAINT submissions_calculated_is_placed CHECK (status = 'failed' OR period IS NOT NULL)
);

-- GET /v1/submissions?period=&scheme= (newest first, cursor on (received_at, submission_id)),
-- and the current submission of a practice, period and scheme.
CREATE INDEX submissions_by_practice_period
    ON submissions (practice, period, scheme, received_at DESC, submission_id DESC);
-- GET /v1/submissions?idempotency_key=K once Redis has forgotten the key. Not unique: after
-- idempotency.ttl_seconds a practice may use the same key for a new submission.
CREATE INDEX submissions_by_idempotency_key
    ON submissions (practice, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Retention.
CREATE INDEX submissions_by_received_at ON submissions (received_at);

-- The submission that counts for each practice, period and scheme: the latest received (ties,
-- impossible in practice, broken by id so the answer is stable).
CREATE VIEW current_submissions AS
    SELECT DISTINCT ON (practice, period, scheme) *
    FROM submissions
    WHERE period IS NOT NULL
    ORDER BY practice, period, scheme, received_at DESC, submission_id DESC;

-- A practice's sign-off of one calculated submission, and its commissioner's decision.
CREATE TABLE declarations (
    declaration_id   text PRIMARY KEY,
    submission_id    text NOT NULL REFERENCES submissions (submission_id),
    practice         text NOT NULL,
    commissioner     text NOT NULL,                       -- from the organisations file when declared
    period           text NOT NULL,
    scheme           text NOT NULL,
    declared_by      text NOT NULL,                       -- "Dr A Example, GP partner"
    declared_at      timestamptz NOT NULL,
    statement_sha256 text NOT NULL,                       -- SHA-256 of the result bytes reviewed
    points           numeric(12, 2) NOT NULL,             -- copied from the submission when declared
    payment_gbp      numeric(15, 2) NOT NULL,
    status           text NOT NULL DEFAULT 'awaiting-approval',
    decided_by       text,
    decided_at       timestamptz,
    reason           text,
    CONSTRAINT declarations_status CHECK (status IN ('awaiting-approval', 'approved', 'rejected')),
    CONSTRAINT declarations_decided CHECK (
        (status = 'awaiting-approval') = (decided_at IS NULL AND decided_by IS NULL)),
    CONSTRAINT declarations_rejection_has_reason CHECK (status <> 'rejected' OR reason IS NOT NULL)
);

-- One standing declaration per practice, period and scheme, enforced by the database: a second
-- one while one awaits approval or is approved fails with unique_violation (23505), which the
-- gateway answers 409 already-declared. After a rejection the practice may declare again.
CREATE UNIQUE INDEX declarations_one_standing
    ON declarations (practice, period, scheme) WHERE status IN ('awaiting-approval', 'approved');
-- GET /v1/declarations for a practice and for a commissioner (newest first, filtered by status).
CREATE INDEX declarations_by_practice ON declarations (practice, period, declared_at DESC, declaration_id DESC);
CREATE INDEX declarations_by_commissioner
    ON declarations (commissioner, period, status, declared_at DESC, declaration_id DESC);
CREATE INDEX declarations_by_submission ON declarations (submission_id);
-- Retention.
CREATE INDEX declarations_by_declared_at ON declarations (declared_at);

-- The idempotency records of the ledger's own writes (declarations and decisions): the same
-- semantics as a submission's Idempotency-Key (API.md), scoped to the caller's organisation
-- (the practice that declares, the commissioner that decides) and to the operation. Inserted in
-- the transaction that makes the write, so the record exists exactly when the write does; a
-- concurrent retry waits on the primary key until the first commits, then replays.
CREATE TABLE idempotency_records (
    organisation    text NOT NULL,                        -- practice or commissioner code
    operation       text NOT NULL,
    idempotency_key text NOT NULL,
    request_sha256  text NOT NULL,                        -- same key, other body: 422 reused
    response_status smallint NOT NULL,
    response_body   text NOT NULL,                        -- replayed byte for byte
    declaration_id  text REFERENCES declarations (declaration_id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,                 -- created_at + idempotency.ttl_seconds
    PRIMARY KEY (organisation, operation, idempotency_key),
    CONSTRAINT idempotency_records_operation CHECK (operation IN ('declare', 'decide'))
);
CREATE INDEX idempotency_records_by_expiry ON idempotency_records (expires_at);
