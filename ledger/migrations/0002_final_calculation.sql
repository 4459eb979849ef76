-- ledger/migrations/0002_final_calculation.sql: finalising a period (issue 16 item 1; README.md
-- "Finalising a period", admin/finalise.hpp). Never edited after release.
--
-- Who writes what:
--   submission_inputs, submission_registers   the worker, in the same statement as the submission's
--                         row (ledger/results.cpp), for every calculated submission: what the final
--                         calculation needs again (the body, exactly as calculated) and what the
--                         national prevalence is summed from (list size, registers)
--   period_finals, national_prevalence, final_results   sluice-admin finalise
-- Nothing here rewrites submissions: a submission's result stays the bytes its declaration hashed.

-- The inputs of a calculated submission. A submission calculated before this migration has none:
-- finalise refuses its period and names it (it cannot be recalculated without its body).
CREATE TABLE submission_inputs (
    submission_id text PRIMARY KEY REFERENCES submissions (submission_id) ON DELETE CASCADE,
    list_size     bigint NOT NULL,
    body          text NOT NULL,                          -- the request body; SHA-256 = content_sha256
    CONSTRAINT submission_inputs_list_size CHECK (list_size >= 0)
);

-- Its registers, one row per condition (a QOF group code) as the body gave them.
CREATE TABLE submission_registers (
    submission_id text NOT NULL REFERENCES submission_inputs (submission_id) ON DELETE CASCADE,
    group_code    text NOT NULL,
    size          bigint NOT NULL,
    PRIMARY KEY (submission_id, group_code),
    CONSTRAINT submission_registers_size CHECK (size >= 0)
);

-- One row per finalised (or finalising) period. generation counts the national prevalences
-- recorded for the period: a run that finds the same sums keeps it (and resumes), one that finds
-- other sums (a submission arrived since) takes the next and recalculates everything.
CREATE TABLE period_finals (
    period        text PRIMARY KEY,
    state         text NOT NULL,                          -- finalising: a run started and has not finished
    generation    integer NOT NULL,
    submissions   integer NOT NULL DEFAULT 0,             -- current calculated submissions of the run
    recalculated  integer NOT NULL DEFAULT 0,             -- final results written so far (progress)
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    CONSTRAINT period_finals_state CHECK (state IN ('finalising', 'final')),
    CONSTRAINT period_finals_finished CHECK ((state = 'final') = (finished_at IS NOT NULL))
);

-- The national prevalence of each prevalence-adjusted group: Σ registers / Σ list sizes over the
-- current calculated QOF submissions that carry the group's register (admin/finalise.hpp,
-- calculation.hpp decision 15). Exact: the fraction itself, and a decimal for people.
CREATE TABLE national_prevalence (
    period         text NOT NULL REFERENCES period_finals (period) ON DELETE CASCADE,
    group_code     text NOT NULL,
    generation     integer NOT NULL,
    register_total numeric(30, 0) NOT NULL,
    list_size_total numeric(30, 0) NOT NULL,
    practices      integer NOT NULL,                      -- submissions summed
    prevalence     numeric NOT NULL,                      -- register_total / list_size_total, 12 places, for people
    PRIMARY KEY (period, group_code)
);

-- The final calculation of a current submission: result JSON as calculate() and result_json()
-- give it with the final national prevalence. One row per practice, period and scheme; a run of a
-- later generation, or a later current submission, replaces it.
CREATE TABLE final_results (
    period        text NOT NULL REFERENCES period_finals (period) ON DELETE CASCADE,
    practice      text NOT NULL,
    scheme        text NOT NULL,
    submission_id text NOT NULL REFERENCES submissions (submission_id) ON DELETE CASCADE,
    generation    integer NOT NULL,
    result        text NOT NULL,
    points        numeric(12, 2) NOT NULL,
    payment_gbp   numeric(15, 2) NOT NULL,
    calculated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, practice, scheme)
);
CREATE INDEX final_results_by_submission ON final_results (submission_id);
