// The status answer's body (see status_document.hpp).
#include "gateway/detail/status_document.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace sluice::gateway::detail {

std::string status_document(std::string_view submission_id, const queue::status_record& record) {
    boost::json::object fields;
    fields["submission_id"] = submission_id;
    if (record.practice) fields["practice"] = *record.practice;
    if (record.received_at) fields["received_at"] = *record.received_at;
    if (record.content_sha256) fields["content_sha256"] = *record.content_sha256;
    fields["status_url"] = "/v1/submissions/" + std::string(submission_id);
    if (record.status) fields["status"] = *record.status;
    if (record.attempts) fields["attempts"] = *record.attempts;
    std::string out = boost::json::serialize(fields);  // never empty: "{...}" with submission_id
    out.pop_back();                                    // the closing brace, added back below
    if (record.result) {
        boost::system::error_code ec;
        (void)boost::json::parse(*record.result, ec);  // only to check it is JSON
        if (!ec) {
            out += ",\"result\":";
            out += *record.result;
        }
    }
    if (record.error) {
        out += ",\"error\":";
        out += boost::json::serialize(boost::json::string(*record.error));
    }
    out += '}';
    return out;
}

}  // namespace sluice::gateway::detail
