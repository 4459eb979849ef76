// The queue's scripts as redis::script objects (SHA-1 computed once per process), for clients
// that register and run them. Apart from the pure call builders and parsers (admission.cpp,
// status.cpp), which need no script object.
#include "queue/admission.hpp"
#include "queue/status.hpp"

#include "embedded/admission_lua.hpp"
#include "embedded/complete_lua.hpp"
#include "embedded/status_lua.hpp"

#include <string>

namespace sluice::queue {

const redis::script& admission_script() {
    static const redis::script s{std::string(embedded::admission_lua)};
    return s;
}

const redis::script& complete_script() {
    static const redis::script s{std::string(embedded::complete_lua)};
    return s;
}

const redis::script& status_script() {
    static const redis::script s{std::string(embedded::status_lua)};
    return s;
}

}  // namespace sluice::queue
