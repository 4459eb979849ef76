// Writing results to the submissions table (see results.hpp).
#include "ledger/results.hpp"

#include "ledger/declarations.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace sluice::ledger {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The upsert. RETURNING yields a row only when the statement inserted or updated one, so "no
// row" means the submission was recorded before and nothing changed.
constexpr std::string_view upsert_sql = R"sql(
WITH recorded AS (
INSERT INTO submissions AS s (submission_id, practice, period, scheme, idempotency_key, received_at,
                              content_sha256, status, attempts, result, points, payment_gbp, error,
                              calculated_at)
VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8, $9::integer, $10, $11::numeric, $12::numeric, $13,
        $14::timestamptz)
ON CONFLICT (submission_id) DO UPDATE
   SET period = EXCLUDED.period, scheme = EXCLUDED.scheme, status = EXCLUDED.status,
       attempts = EXCLUDED.attempts, result = EXCLUDED.result, points = EXCLUDED.points,
       payment_gbp = EXCLUDED.payment_gbp, error = NULL, calculated_at = EXCLUDED.calculated_at
 WHERE s.status = 'failed' AND EXCLUDED.status = 'calculated'
RETURNING submission_id),
inputs AS (
INSERT INTO submission_inputs (submission_id, list_size, body)
SELECT submission_id, $16::bigint, $15 FROM recorded WHERE $15::text IS NOT NULL
ON CONFLICT (submission_id) DO NOTHING
RETURNING submission_id),
registers AS (
INSERT INTO submission_registers (submission_id, group_code, size)
SELECT i.submission_id, r.group_code, r.size
  FROM inputs i, unnest($17::text[], $18::bigint[]) AS r (group_code, size)
ON CONFLICT DO NOTHING)
SELECT submission_id FROM recorded)sql";

constexpr std::string_view upsert_name = "sluice_record_submission_2";  // 2: with its inputs (0002)

param text_or_null(const std::string& s) { return s.empty() ? param{} : param{s}; }

// A PostgreSQL array literal of integers: {12,0,7}.
std::string integer_array(const std::vector<std::pair<std::string, std::uint64_t>>& registers) {
    std::string out = "{";
    for (const auto& [condition, size] : registers) {
        if (out.size() > 1) out += ',';
        out += std::to_string(size);
    }
    return out + "}";
}

std::vector<std::string> conditions(const std::vector<std::pair<std::string, std::uint64_t>>& registers) {
    std::vector<std::string> out;
    out.reserve(registers.size());
    for (const auto& entry : registers) out.push_back(entry.first);
    return out;
}

}  // namespace

statement record_statement(const submission_record& r) {
    statement s;
    s.sql = std::string(upsert_sql);
    s.prepared_name = std::string(upsert_name);
    const bool failed = r.failed();
    s.params = {r.submission_id,
                r.practice,
                text_or_null(r.period),
                text_or_null(r.scheme),
                r.idempotency_key,
                r.received_at,
                r.content_sha256,
                std::string(failed ? "failed" : "calculated"),
                std::to_string(r.attempts),
                failed ? param{} : param{r.result_json},
                failed ? param{} : param{r.points},
                failed ? param{} : param{r.payment_gbp},
                failed ? param{r.error} : param{},
                r.calculated_at,
                failed ? param{} : text_or_null(r.body),
                std::to_string(r.list_size),
                text_array(conditions(r.registers)),
                integer_array(r.registers)};
    return s;
}

record_outcome outcome_of(const result& r) noexcept {
    return r.rows.empty() ? record_outcome::already_recorded : record_outcome::recorded;
}

// The queue and the batches in flight. Shared with the client's completions, so a recorder
// destroyed with batches in flight is never touched by them.
struct result_recorder::state : std::enable_shared_from_this<state> {
    struct waiting {
        statement upsert;
        completion_handler handler;
    };

    state(client& c, std::size_t max) : ledger(&c), max_batch(std::max<std::size_t>(max, 1)) {}

    client* ledger;  // null once the recorder is gone
    std::size_t max_batch;
    std::deque<waiting> queue;
    std::size_t in_flight = 0;

    std::size_t max_batches() const { return std::max<std::size_t>(ledger->options().pool_size, 1); }

    static void complete(client& ledger, completion_handler handler, error_code ec, record_answer answer) {
        asio::post(ledger.get_executor(),
                   [h = std::move(handler), ec, a = std::move(answer)]() mutable { std::move(h)(ec, std::move(a)); });
    }

    void flush() {
        while (ledger != nullptr && !queue.empty() && in_flight < max_batches()) {
            const auto n = std::min(queue.size(), max_batch);
            std::vector<statement> statements;
            std::vector<completion_handler> handlers;
            statements.reserve(n);
            handlers.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                statements.push_back(std::move(queue.front().upsert));
                handlers.push_back(std::move(queue.front().handler));
                queue.pop_front();
            }
            send(std::move(statements), std::move(handlers));
        }
    }

    void send(std::vector<statement> statements, std::vector<completion_handler> handlers) {
        ++in_flight;
        auto retry = statements.size() > 1 ? statements : std::vector<statement>{};
        ledger->async_execute(std::move(statements),
                              [self = shared_from_this(), handlers = std::move(handlers), retry = std::move(retry)](
                                  error_code ec, std::vector<result> results) mutable {
                                  --self->in_flight;
                                  if (self->ledger == nullptr) return;  // the recorder is gone; its callers with it
                                  if (ec == error::server_error && !retry.empty()) {
                                      // One record was refused and rolled the batch back: try each alone.
                                      for (std::size_t i = 0; i < handlers.size(); ++i) {
                                          std::vector<statement> one;
                                          one.push_back(std::move(retry[i]));
                                          std::vector<completion_handler> its;
                                          its.push_back(std::move(handlers[i]));
                                          self->send(std::move(one), std::move(its));
                                      }
                                      return;
                                  }
                                  for (std::size_t i = 0; i < handlers.size(); ++i) {
                                      record_answer answer;
                                      if (i < results.size()) {
                                          answer.outcome = outcome_of(results[i]);
                                          answer.sqlstate = std::move(results[i].sqlstate);
                                          answer.message = std::move(results[i].message);
                                      }
                                      complete(*self->ledger, std::move(handlers[i]), ec, std::move(answer));
                                  }
                                  self->flush();
                              });
    }
};

result_recorder::result_recorder(client& ledger, std::size_t max_batch)
    : state_(std::make_shared<state>(ledger, max_batch)) {}

result_recorder::~result_recorder() {
    auto queue = std::move(state_->queue);
    state_->queue.clear();
    for (auto& w : queue) state::complete(*state_->ledger, std::move(w.handler), error::stopped, {});
    state_->ledger = nullptr;
}

std::size_t result_recorder::queued() const noexcept { return state_->queue.size(); }

std::size_t result_recorder::batches_in_flight() const noexcept { return state_->in_flight; }

void result_recorder::enqueue(submission_record record, completion_handler handler) {
    state_->queue.push_back({record_statement(record), std::move(handler)});
    state_->flush();
}

}  // namespace sluice::ledger
