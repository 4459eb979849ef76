// The worker's half of the system of record: each submission whose processing ended (calculated,
// or dead-lettered as failed) written to the submissions table, keyed by submission id, BEFORE
// the worker acknowledges its queue entry (DESIGN.md "Where data lives"). A calculated one also
// gets its inputs (body, list size, registers) in submission_inputs and submission_registers, in
// the same statement, for finalising its period (admin/finalise.hpp).
//
// Idempotent: the first write of a submission inserts it; a calculated row is never changed
// again (a second delivery of the same entry, after a worker died between this write and its
// acknowledgement, writes nothing); a failed row is replaced by a calculated one (a delivery that
// calculated it after all wins). So any number of writes, in any order, leave one row.
//
// Batched: result_recorder sends what arrives while its batches are in flight as the next batch,
// one transaction and one round trip for many results (group commit), at most one batch per
// connection of the pool at a time. If PostgreSQL refuses a batch, its records are retried one
// by one, so one bad record fails alone.
#pragma once

#include "ledger/client.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::ledger {

// One submission's row of the submissions table (ledger/migrations/0001_system_of_record.sql).
struct submission_record {
    std::string submission_id;
    std::string practice;
    std::string period;  // "" only for a failed submission whose body could not be read
    std::string scheme;
    std::optional<std::string> idempotency_key;  // nullopt if the queue entry did not carry it
    std::string received_at;                     // RFC 3339, as in the receipt
    std::string content_sha256;
    std::uint32_t attempts = 0;
    std::string calculated_at;  // RFC 3339: when the result or the failure was produced
    // Calculated: the result JSON exactly as served, and its totals as exact decimals ("412.37").
    std::string result_json;
    std::string points;
    std::string payment_gbp;
    // Failed (dead-lettered): why. Non-empty means failed; result_json etc. are then ignored.
    std::string error;
    // Calculated: the inputs the final calculation needs again (migration 0002: submission_inputs
    // and submission_registers, written in the same statement as the row): the body exactly as
    // calculated, its list size and its registers in body order. Empty body: none are written.
    std::string body;
    std::uint64_t list_size = 0;
    std::vector<std::pair<std::string, std::uint64_t>> registers;  // (condition, size)

    bool failed() const noexcept { return !error.empty(); }
};

enum class record_outcome {
    recorded,          // inserted, or a failed row replaced by this calculated one
    already_recorded,  // the row was there already (a calculated one, or a failure again): nothing changed
};

// What became of one record: the outcome, or (ec == error::server_error) PostgreSQL's refusal.
struct record_answer {
    record_outcome outcome = record_outcome::recorded;
    std::string sqlstate;  // set with error::server_error: is_transient(ec, sqlstate) says whether to retry
    std::string message;
};

// The upsert of one record (pure: for tests and for callers with their own batching).
statement record_statement(const submission_record& record);

// What record_statement's result says.
record_outcome outcome_of(const result& r) noexcept;

class result_recorder {
public:
    using completion_signature = void(boost::system::error_code, record_answer);
    using completion_handler = boost::asio::any_completion_handler<completion_signature>;

    // `ledger` must outlive the recorder. max_batch: records per transaction at most.
    explicit result_recorder(client& ledger, std::size_t max_batch = 128);
    ~result_recorder();
    result_recorder(const result_recorder&) = delete;
    result_recorder& operator=(const result_recorder&) = delete;

    // Completes once the record is committed (or was already), or with the error that kept it
    // from being committed (ledger::error; is_transient() says whether trying again may help).
    template <typename CompletionToken>
    auto async_record(submission_record record, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            [this](auto handler, submission_record r) {
                enqueue(std::move(r), completion_handler(std::move(handler)));
            },
            token, std::move(record));
    }

    std::size_t queued() const noexcept;
    std::size_t batches_in_flight() const noexcept;

private:
    struct state;
    void enqueue(submission_record record, completion_handler handler);
    std::shared_ptr<state> state_;
};

}  // namespace sluice::ledger
