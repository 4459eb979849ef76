// libFuzzer target for queue/submission.hpp: any bytes as a POST /v1/submissions body, against
// the shipped catalogue (SLUICE_CATALOGUE_DIR). Besides the sanitizers' checks it aborts when a
// property of the validator fails:
//   * 400 exactly when Boost.JSON's own parser (same depth limit) refuses the bytes;
//   * a 400 has no errors; a 422 has 1 to max_reported_faults, each pointer "" or "/...";
//   * the problem document is JSON that Boost.JSON parses back (valid UTF-8 included);
//   * an accepted submission keeps the invariants submission.hpp promises, and written back as
//     JSON it is accepted again as the same submission.
//
//   submission_fuzz -dict=tests/fuzz/submission.dict tests/fuzz/corpus/submission

#include "queue/submission.hpp"
#include "tests/unit/queue/fault_document.hpp"

#include "catalogue/catalogue.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace {

using namespace sluice;

const catalogue::catalogue& shipped()
{
    static const catalogue::catalogue loaded = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return loaded;
}

void require(bool property, const char* what)
{
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

boost::json::value to_json(const queue::submission& s)
{
    boost::json::array items;
    for (const auto& item : s.qof_items) {
        boost::json::object entry{{"code", item.code}, {"numerator", item.numerator}, {"denominator", item.denominator}};
        if (item.pca) entry["pca"] = *item.pca;
        items.push_back(std::move(entry));
    }
    for (const auto& item : s.service_items) items.push_back(boost::json::object{{"code", item.code}, {"count", item.count}});
    boost::json::object body{{"practice", s.practice}, {"period", s.period}, {"scheme", s.scheme},
                             {"list_size", s.list_size}, {"items", std::move(items)}};
    if (s.is_qof() || !s.registers.empty()) {
        boost::json::array registers;
        for (const auto& r : s.registers) registers.push_back(boost::json::object{{"condition", r.condition}, {"size", r.size}});
        body["registers"] = std::move(registers);
    }
    return body;
}

void check_accepted(const queue::submission& s)
{
    const auto* period = shipped().period(s.period);
    require(period != nullptr, "period known");
    require(s.practice.size() == 6, "practice code");
    require(period->has_scheme(s.scheme), "scheme known");
    require(s.list_size >= 1 && s.list_size <= queue::max_json_integer, "list_size range");
    const auto count = s.qof_items.size() + s.service_items.size();
    require(count >= 1 && count <= queue::max_submission_items, "item count");
    std::set<std::string> codes;
    for (const auto& item : s.qof_items) {
        require(s.is_qof(), "QOF items only for QOF");
        require(period->qof_indicator(item.code) != nullptr, "indicator known");
        require(item.numerator <= item.denominator, "numerator <= denominator");
        require(item.denominator <= queue::max_json_integer, "denominator range");
        require(!item.pca || *item.pca <= queue::max_json_integer, "pca range");
        require(codes.insert(item.code).second, "codes unique");
    }
    for (const auto& item : s.service_items) {
        require(!s.is_qof(), "service items only for services");
        require(period->service_item(s.scheme, item.code) != nullptr, "item known");
        require(item.count <= queue::max_json_integer, "count range");
        require(codes.insert(item.code).second, "codes unique");
    }
    std::set<std::string> conditions;
    for (const auto& r : s.registers) {
        require(period->group(r.condition) != nullptr, "condition known");
        if (!s.is_qof()) {  // an enhanced service: only the registers that cap its items
            bool caps = false;
            for (const auto& item : period->service(s.scheme)->items) caps = caps || item.cap_register == r.condition;
            require(caps, "an enhanced service's registers cap its items");
        }
        require(r.size <= queue::max_json_integer, "size range");
        require(conditions.insert(r.condition).second, "conditions unique");
    }
    const auto again = queue::parse_submission(boost::json::serialize(to_json(s)), shipped());
    require(again.ok() && again.value() == s, "round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto result = queue::parse_submission(body, shipped());

    boost::json::parse_options options;
    options.max_depth = queue::max_json_depth;
    boost::json::error_code ec;
    (void)boost::json::parse(body, ec, {}, options);
    const bool malformed = !result.ok() && result.fault().kind == queue::fault_kind::malformed_json;
    require(malformed == static_cast<bool>(ec), "400 exactly when Boost.JSON refuses the bytes");

    if (result.ok()) {
        check_accepted(result.value());
        return 0;
    }
    const auto& fault = result.fault();
    require(!fault.detail.empty(), "detail");
    if (malformed) {
        require(fault.errors.empty(), "400 has no errors");
    } else {
        require(!fault.errors.empty() && fault.errors.size() <= queue::max_reported_faults, "422 error count");
        for (const auto& e : fault.errors) {
            require(e.pointer.empty() || e.pointer.front() == '/', "pointer shape");
            require(!e.detail.empty(), "error detail");
        }
    }
    boost::json::error_code doc_ec;
    const auto doc = boost::json::parse(queue::problem_document(fault), doc_ec);
    require(!doc_ec && doc.is_object(), "problem document is JSON");
    require(doc.at("status").to_number<unsigned>() == fault.status(), "problem status");
    return 0;
}
