// sluice-token: the operator's tool for practice credentials (API.md, "Credentials").
//
//   sluice-token issue --practice A81001 --file credentials.csv (--not-after TIME | --valid-days N)
//   sluice-token expiring --file credentials.csv --before DATE
//
// issue prints a new token on stdout, once, and nothing else there (so it can be piped into the
// practice's secure channel); the file only ever holds the token's SHA-256. The line is appended
// with one write() on an O_APPEND descriptor, under an exclusive flock() that the gateway's
// credential_table::load() respects with a shared one, then fsync()ed: a reload sees the file
// before or after the append, never half a line. A missing file is created whole (header and
// line written to a temporary file, fsync()ed, then link()ed into place) with mode 0600.
//
// Exit codes: 0 done; 2 a usage error, a refused value (practice code, a not_after in the past)
// or a credential file that does not load; 1 an I/O failure.
#include "config/allocator.hpp"
#include "config/command_line.hpp"
#include "config/config.hpp"
#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "credentials/credentials.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace config = sluice::config;
namespace credentials = sluice::credentials;
using namespace std::string_literals;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;  // also a refused value and a credential file that does not load

// --valid-days: at least a day, at most ten years.
constexpr std::uint64_t max_valid_days = 3660;

constexpr std::string_view file_header =
    "# sluice credential file: one token a line, practice,token_sha256_hex,not_after (UTC).\n"
    "# Written by sluice-token; the tokens themselves are never stored. See API.md, \"Credentials\".\n"
    "# practice,token_sha256_hex,not_after\n";

#ifdef SLUICE_WITH_JEMALLOC
constexpr bool jemalloc_linked = true;
#else
constexpr bool jemalloc_linked = false;
#endif

std::string help_text()
{
    return R"(usage: sluice-token issue --practice CODE --file FILE (--not-after TIME | --valid-days N) [--role ROLE]
       sluice-token expiring --file FILE --before DATE
       sluice-token generate --count N --file FILE --tokens FILE [--letter L] [--valid-days N]
       sluice-token --help
Issues practice tokens and lists those about to expire, in sluice's credential file.

  issue      generates a token for practice CODE (one upper-case letter and five digits), appends
             CODE,SHA-256,NOT_AFTER to FILE (creating it with mode 0600 if missing) and prints the
             token on stdout. It is shown only this once: the file keeps only its SHA-256. A
             practice may hold several tokens (rotation); each works until its own not_after.
             Send SIGHUP to the gateway afterwards to load the file.
    --not-after TIME   RFC 3339 UTC, such as 2027-03-31T23:59:59Z (the last second that works)
    --valid-days N     or: N days (1 to 3660) from now
    --role ROLE        practice (the default), commissioner (CODE is its ODS organisation code,
                       3 to 5 upper-case letters or digits, such as QWE) or operator (CODE is a
                       name of 1 to 32 upper-case letters, digits or hyphens); written as the
                       line's fourth column (a practice line keeps three columns)
  expiring   lists the practices whose tokens all expire before DATE (each practice's latest
             not_after), one line each, PRACTICE,NOT_AFTER, soonest first.
    --before DATE      2027-03-31 (midnight UTC) or an RFC 3339 UTC time
  generate   for load tests and benchmarks: N practices L00000, L00001, ... (N at most 100000),
             each with a fresh token; writes the credential file and a tokens file of
             PRACTICE,TOKEN lines (both new, mode 0600; refuses to overwrite either).
    --letter L         the practice codes' letter (default Z), --valid-days N (default 365)
  --help, -h print this help and exit

Options take their value as the next argument or after '=' (--file=credentials.csv).
Exit status: 0 done, 2 a usage error or a refused value or a credential file that does not load,
1 an I/O failure.
)";
}

using config::bad_value;
using config::usage_error;  // a mistake in the arguments; what() is the one line to show

// A value or a file refused (exit 2 too), where the usage is not the problem.
class refused_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An I/O failure while writing the file.
class io_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The command line (config/command_line.hpp): the command word first, options in the default words.
const config::option_grammar& grammar()
{
    static const config::option_grammar words = [] {
        config::option_grammar g;
        g.options = {{"--practice"}, {"--file"}, {"--not-after"}, {"--valid-days"},
                     {"--before"},   {"--count"}, {"--tokens"},  {"--letter"}, {"--role"}};
        g.command = config::command_word::first_bare_word;
        return g;
    }();
    return words;
}

using arguments = config::parsed_options;

// Rejects options the command does not take.
void check_options(const arguments& args, const std::vector<std::string_view>& allowed)
{
    args.allow_only(allowed, "the " + args.command + " command");
}

const std::string& required(const arguments& args, const std::string& name)
{
    return args.required(name, args.command + " needs " + name);
}

std::chrono::sys_seconds now_seconds()
{
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string errno_text(const std::string& what, const std::filesystem::path& file)
{
    return what + " " + file.string() + ": " + std::strerror(errno);
}

// ---- file writing ----------------------------------------------------------------------------

class descriptor {
public:
    explicit descriptor(int fd) : fd_(fd) {}
    ~descriptor()
    {
        if (fd_ >= 0) ::close(fd_);
    }
    descriptor(const descriptor&) = delete;
    descriptor& operator=(const descriptor&) = delete;
    int get() const { return fd_; }
    // close() reports errors (a delayed write failure on some filesystems); the destructor cannot.
    bool close()
    {
        const int fd = std::exchange(fd_, -1);
        return ::close(fd) == 0;
    }

private:
    int fd_;
};

void write_all(int fd, std::string_view text, const std::filesystem::path& file)
{
    while (!text.empty()) {
        const auto written = ::write(fd, text.data(), text.size());
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) throw io_error(errno_text("cannot write", file));
        text.remove_prefix(static_cast<std::size_t>(written));
    }
}

std::string read_all(int fd, const std::filesystem::path& file)
{
    std::string text;
    char buffer[65536];
    for (off_t offset = 0;;) {
        const auto got = ::pread(fd, buffer, sizeof buffer, offset);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw io_error(errno_text("cannot read", file));
        if (got == 0) return text;
        text.append(buffer, static_cast<std::size_t>(got));
        offset += got;
    }
}

void sync_directory_of(const std::filesystem::path& file)
{
    const auto directory = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    descriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) throw io_error(errno_text("cannot sync the directory", directory));
}

// Throws refused_error when `text` (the file as it would be) does not load.
credentials::credential_table check_loads(std::string_view text, const std::filesystem::path& file, std::string_view when)
{
    try {
        return credentials::credential_table::parse(text, file.string());
    } catch (const config::config_error& error) {
        throw refused_error(std::string(when) + ": " + error.what());
    }
}

// Creates `file` holding the header and `line`, all at once: written to a temporary file next to
// it, then link()ed into place, which fails if another process created `file` meanwhile.
// Returns false in that case (the caller appends instead).
bool create_with(const std::filesystem::path& file, std::string_view line)
{
    const std::string contents = std::string(file_header) + std::string(line);
    check_loads(contents, file, "refusing to create the file");

    auto temporary = file;
    temporary.replace_filename("." + file.filename().string() + ".new-" + std::to_string(::getpid()));
    ::unlink(temporary.c_str());  // a leftover of an earlier run killed at this point
    descriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) throw io_error(errno_text("cannot create", temporary));
    try {
        if (::fchmod(fd.get(), 0600) != 0) throw io_error(errno_text("cannot set the mode of", temporary));
        write_all(fd.get(), contents, temporary);
        if (::fsync(fd.get()) != 0) throw io_error(errno_text("cannot sync", temporary));
        if (!fd.close()) throw io_error(errno_text("cannot close", temporary));
        if (::link(temporary.c_str(), file.c_str()) != 0) {
            if (errno != EEXIST) throw io_error(errno_text("cannot create", file));
            ::unlink(temporary.c_str());
            return false;
        }
    } catch (...) {
        ::unlink(temporary.c_str());
        throw;
    }
    ::unlink(temporary.c_str());
    sync_directory_of(file);
    return true;
}

struct append_report {
    bool created = false;
    std::size_t earlier_tokens = 0;  // the practice's tokens already in the file
    std::optional<std::chrono::sys_seconds> latest_not_after;
};

// Appends `line` (one whole line, with its '\n') for `practice`, creating the file if missing.
append_report append_credential(const std::filesystem::path& file, std::string_view line, std::string_view practice)
{
    for (;;) {
        descriptor fd(::open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
        if (fd.get() < 0) {
            if (errno != ENOENT) throw io_error(errno_text("cannot open", file));
            if (create_with(file, line)) return {true, 0, std::nullopt};
            continue;  // created by someone else meanwhile: append to theirs
        }
        while (::flock(fd.get(), LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            if (errno == ENOLCK || errno == EINVAL) break;  // a filesystem without flock(): append unlocked
            throw io_error(errno_text("cannot lock", file));
        }
        struct stat status {};
        if (::fstat(fd.get(), &status) != 0) throw io_error(errno_text("cannot read", file));
        if (!S_ISREG(status.st_mode)) throw refused_error(file.string() + " is not a regular file");

        const std::string existing = read_all(fd.get(), file);
        const auto table = check_loads(existing, file, "refusing to append to a file that does not load; fix it first");
        // A file edited by hand may lack its last newline: the new line must not join that one.
        const std::string addition =
            (existing.empty() || existing.back() == '\n' ? ""s : "\n"s) + std::string(line);
        check_loads(existing + addition, file, "refusing to append");

        append_report report;
        for (const auto& c : table.credentials()) {
            if (c.practice != practice) continue;
            ++report.earlier_tokens;
            if (!report.latest_not_after || c.not_after > *report.latest_not_after)
                report.latest_not_after = c.not_after;
        }
        // One write() on an O_APPEND descriptor, under the lock: readers see all of the line or none.
        write_all(fd.get(), addition, file);
        if (::fsync(fd.get()) != 0) throw io_error(errno_text("cannot sync", file));
        if (!fd.close()) throw io_error(errno_text("cannot close", file));
        return report;
    }
}

// ---- commands --------------------------------------------------------------------------------

int issue(const arguments& args)
{
    check_options(args, {"--practice", "--file", "--not-after", "--valid-days", "--role"});
    const std::string& practice = required(args, "--practice");
    const std::filesystem::path file = required(args, "--file");
    const auto not_after_text = args.value("--not-after");
    const bool valid_days_given = args.given("--valid-days");
    if (not_after_text && valid_days_given) throw usage_error("give --not-after or --valid-days, not both");
    if (!not_after_text && !valid_days_given) throw usage_error("issue needs --not-after TIME or --valid-days N");

    const auto role_text = args.value("--role");
    const auto access = role_text ? credentials::parse_role(*role_text) : credentials::role::practice;
    if (!access) throw usage_error("--role \"" + *role_text + "\": expected practice, commissioner or operator");
    if (*access == credentials::role::practice && !credentials::well_formed_practice(practice))
        throw refused_error("--practice \"" + practice + "\" is not an ODS practice code: "
                            + "expected one upper-case letter and five digits, such as A81001");
    if (*access == credentials::role::commissioner && !credentials::well_formed_organisation(practice))
        throw refused_error("--practice \"" + practice + "\" is not an ODS organisation code for a commissioner: "
                            + "expected 3 to 5 upper-case letters or digits, such as QWE");
    if (*access == credentials::role::operator_ && !credentials::well_formed_operator(practice))
        throw refused_error("--practice \"" + practice + "\" is not an operator name: "
                            + "expected 1 to 32 upper-case letters, digits or hyphens, such as OPS-1");

    const auto now = now_seconds();
    std::chrono::sys_seconds not_after;
    if (not_after_text) {
        const auto parsed = config::parse_rfc3339(*not_after_text);
        if (!parsed)
            throw usage_error("--not-after \"" + *not_after_text
                              + "\" is not an RFC 3339 UTC time: expected such as 2027-03-31T23:59:59Z");
        not_after = *parsed;
    } else {
        const auto days = args.whole("--valid-days", 0, 1, max_valid_days, "days");
        not_after = now + std::chrono::days{static_cast<long>(days)};
    }
    if (not_after <= now)
        throw refused_error("--not-after " + config::format_rfc3339(not_after) + " is not in the future (now is "
                          + config::format_rfc3339(now) + "): the token would never work");

    const std::string token = credentials::new_token();
    const std::string line =
        practice + "," + config::to_hex(config::sha256(token)) + "," + config::format_rfc3339(not_after)
        + (*access == credentials::role::practice ? "" : "," + std::string(credentials::role_name(*access))) + "\n";
    const auto report = append_credential(file, line, practice);

    std::cout << token << '\n' << std::flush;
    if (!std::cout) {
        std::cerr << "sluice-token: could not write the token to stdout; the line just added to " << file.string()
                  << " for " << practice << " belongs to a token nobody has: remove it\n";
        return exit_failure;
    }
    std::cerr << "sluice-token: " << (report.created ? "created " : "appended to ") << file.string() << ": " << practice
              << " valid until " << config::format_rfc3339(not_after) << ".\n"
              << "sluice-token: the token above is shown only this once; the file keeps only its SHA-256.\n";
    if (report.earlier_tokens > 0)
        std::cerr << "sluice-token: " << practice << " also holds " << report.earlier_tokens << " earlier token"
                  << (report.earlier_tokens == 1 ? "" : "s") << " (latest not_after "
                  << config::format_rfc3339(*report.latest_not_after)
                  << "), which keep working until their own not_after unless their lines are removed.\n";
    std::cerr << "sluice-token: send SIGHUP to the gateway to load it.\n";
    return 0;
}

std::chrono::sys_seconds parse_before(const std::string& text)
{
    // A bare date means its midnight, UTC.
    const auto parsed = config::parse_rfc3339(text.size() == 10 ? text + "T00:00:00Z" : text);
    if (!parsed)
        throw usage_error("--before \"" + text + "\": expected a date such as 2027-03-31 "
                          + "or an RFC 3339 UTC time such as 2027-03-31T00:00:00Z");
    return *parsed;
}

int expiring(const arguments& args)
{
    check_options(args, {"--file", "--before"});
    const std::filesystem::path file = required(args, "--file");
    const auto before = parse_before(required(args, "--before"));
    credentials::credential_table table;
    try {
        table = credentials::credential_table::load(file);
    } catch (const config::config_error& error) {
        std::cerr << error.what() << '\n';
        return exit_usage;
    }
    for (const auto* c : table.expiring_before(before))
        std::cout << c->practice << ',' << config::format_rfc3339(c->not_after) << '\n';
    std::cout << std::flush;
    if (!std::cout) {
        std::cerr << "sluice-token: could not write to stdout\n";
        return exit_failure;
    }
    return 0;
}

int generate(const arguments& args)
{
    check_options(args, {"--count", "--file", "--tokens", "--letter", "--valid-days"});
    required(args, "--count");
    const auto count = args.whole("--count", 0, 1, credentials::max_generated_practices);
    const std::string letter = args.value("--letter").value_or("Z");
    if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'Z')
        throw bad_value("--letter", letter, "expected one upper-case letter");
    const auto days = static_cast<long>(args.whole("--valid-days", 365, 1, max_valid_days, "days"));
    // The files themselves: credentials::generate_credentials (shared with sluice-loadtest generate).
    credentials::generated_credentials generated;
    try {
        generated = credentials::generate_credentials(static_cast<std::size_t>(count), letter[0],
                                                 now_seconds() + std::chrono::days{days});
    } catch (const config::config_error& error) {
        throw refused_error(std::string("generated: ") + error.what());
    }
    try {
        credentials::write_generated_credentials(generated, required(args, "--file"), required(args, "--tokens"));
    } catch (const credentials::credential_write_error& error) {
        if (error.refused()) throw refused_error(error.what());
        throw io_error(error.what());
    }
    std::cerr << "sluice-token: " << count << " practices written to " << required(args, "--file") << " and "
              << required(args, "--tokens") << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        config::check_allocator(jemalloc_linked);
        const auto args = config::parse_options(argc, argv, grammar());
        if (args.help) {
            std::cout << help_text() << std::flush;
            return 0;
        }
        if (args.command == "issue") return issue(args);
        if (args.command == "expiring") return expiring(args);
        if (args.command == "generate") return generate(args);
        throw usage_error(args.command.empty() ? "no command given: issue, expiring or generate"
                                               : "unknown command \"" + args.command
                                                     + "\": issue, expiring or generate");
    } catch (const usage_error& error) {
        std::cerr << "sluice-token: " << error.what() << "\nsluice-token: see sluice-token --help\n";
        return exit_usage;
    } catch (const refused_error& error) {
        std::cerr << "sluice-token: " << error.what() << '\n';
        return exit_usage;
    } catch (const std::exception& error) {
        std::cerr << "sluice-token: " << error.what() << '\n';
        return exit_failure;
    }
}
