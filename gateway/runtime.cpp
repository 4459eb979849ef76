// Runtime snapshot loading (see runtime.hpp).
#include "gateway/runtime.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/stat.h>

namespace sluice::gateway {

namespace {

// The operator's message is for people: a few lines. A longer file is a mistake (a log named by
// accident), refused rather than shown.
constexpr std::size_t max_operator_message_bytes = 4096;

// A missing file is no message (deleting it is how an operator clears the message); a file that
// exists but cannot be read, or is too long, is a configuration fault.
std::string read_operator_message(const std::string& path) {
    if (path.empty()) return {};
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        throw config::config_error("status.message_file", "\"" + path + "\"", std::strerror(errno), "");
    }
    if (static_cast<std::size_t>(st.st_size) > max_operator_message_bytes)
        throw config::config_error("status.message_file", "\"" + path + "\"",
                                   "a file of at most " + std::to_string(max_operator_message_bytes) + " bytes", "");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config::config_error("status.message_file", "\"" + path + "\"", "a readable file", "");
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    return text;
}

}  // namespace

std::shared_ptr<const runtime> load_runtime(config::settings settings) {
    auto credentials = credentials::credential_table::load(settings.credentials.file);
    auto organisations = settings.organisations.file.empty()
                             ? credentials::organisation_table{}
                             : credentials::organisation_table::load(settings.organisations.file);
    auto catalogue = catalogue::load_catalogue(settings.catalogue.dir);
    auto message = read_operator_message(settings.status.message_file);
    return std::make_shared<const runtime>(runtime{std::move(settings), std::move(credentials),
                                                   std::move(organisations), std::move(catalogue), std::move(message)});
}

}  // namespace sluice::gateway
