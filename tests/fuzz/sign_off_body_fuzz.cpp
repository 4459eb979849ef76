// libFuzzer target for the bodies of POST /v1/declarations and POST .../decision
// (gateway/detail/sign_off_bodies.hpp): any bytes as either body. Besides the sanitizers' checks it
// aborts when a property fails:
//   * a body is valid exactly when it has no fault, and a fault is malformed or has errors;
//   * every error's pointer is a JSON Pointer ("/" then one member name) of bounded length;
//   * a valid declaration has a lower-case 64-hex digest and fields within their bounds; a valid
//     decision is approved or rejected, and a rejection has its reason.
//
//   sign_off_body_fuzz tests/fuzz/corpus/sign_off_body   (a scratch copy: libFuzzer writes into it)
#include "gateway/detail/sign_off_bodies.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace sluice::gateway::detail;

void require(bool property, const char* what) {
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

void check_fault(const body_fault& f) {
    require(f.malformed != !f.errors.empty(), "malformed or errors, not both");
    for (const auto& e : f.errors) {
        require(!e.pointer.empty() && e.pointer.front() == '/', "pointer starts with /");
        require(e.pointer.size() <= 1 + 2 * 64, "pointer bounded");
        require(!e.detail.empty(), "error has a detail");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    const auto declaration = parse_declaration_body(bytes);
    if (declaration.body) {
        const auto& b = *declaration.body;
        require(declaration.fault.errors.empty() && !declaration.fault.malformed, "valid has no fault");
        require(b.statement_sha256.size() == 64 &&
                    b.statement_sha256.find_first_not_of("0123456789abcdef") == std::string_view::npos,
                "lower-case hex digest");
        require(!b.submission_id.empty() && b.submission_id.size() <= max_submission_id_length, "id bounds");
        require(!b.declared_by.empty() && b.declared_by.size() <= max_name_length, "name bounds");
    } else {
        check_fault(declaration.fault);
    }

    const auto decision = parse_decision_body(bytes);
    if (decision.body) {
        const auto& b = *decision.body;
        require(b.decision == "approved" || b.decision == "rejected", "decision word");
        require(b.decision != "rejected" || (b.reason && !b.reason->empty()), "a rejection has its reason");
        require(!b.decided_by.empty() && b.decided_by.size() <= max_name_length, "name bounds");
    } else {
        check_fault(decision.fault);
    }
    return 0;
}
