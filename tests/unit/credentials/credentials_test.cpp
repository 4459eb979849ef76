// Unit tests of credentials/credentials.hpp: the credential file (every fault with its FILE:LINE
// message), authenticate() at and around not_after, token format, expiring_before(), and that
// authenticate() does not allocate. (SHA-256 and RFC 3339 are config's: tests/unit/config/.)

#include "credentials/credentials.hpp"

#include "config/config.hpp"
#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

// ---- allocation counters ------------------------------------------------------------------------
// operator new of this thread, and OpenSSL's allocations (CRYPTO_set_mem_functions works only
// before OpenSSL's first allocation: this static initializer runs before any test).

namespace {

thread_local long operator_new_calls = 0;
std::atomic<long> openssl_allocations{0};

void* counting_malloc(std::size_t size, const char*, int)
{
    openssl_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size);
}
void* counting_realloc(void* p, std::size_t size, const char*, int)
{
    openssl_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::realloc(p, size);
}
void counting_free(void* p, const char*, int)
{
    std::free(p);
}

const bool openssl_counting = CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free) == 1;

}  // namespace

// Every unaligned form of new and delete, so that none of them is paired with the sanitizer's.
void* operator new(std::size_t size)
{
    ++operator_new_calls;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size)
{
    return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
    ++operator_new_calls;
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept
{
    return operator new(size, tag);
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete[](void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept
{
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept
{
    std::free(p);
}

namespace sluice::credentials {
namespace {

using config::config_error;
using config::sha256;
using config::to_hex;

using namespace std::chrono;
using namespace std::chrono_literals;
using test::scratch_directory;

// A canonical token made of one repeated character (the last one 'A', whose low bits are zero).
std::string token_of(char c)
{
    std::string token(token_length, c);
    token.back() = 'A';
    return token;
}

std::string hash_of(const std::string& token)
{
    return to_hex(sha256(token));
}

// The config_error parse() throws for `text` (named creds.csv).
config_error parse_error(const std::string& text)
{
    try {
        (void)credential_table::parse(text, "creds.csv");
    } catch (const config_error& error) {
        return error;
    }
    ADD_FAILURE() << "no config_error for:\n" << text;
    return config_error("", "", "");
}

// ---- parsing --------------------------------------------------------------------------------------

TEST(credentials_parse, empty_text_has_no_credentials)
{
    EXPECT_EQ(credential_table::parse("", "creds.csv").size(), 0u);
    EXPECT_EQ(credential_table::parse("# only a comment\n\n   \n", "creds.csv").size(), 0u);
}

TEST(credentials_parse, comments_blank_lines_spaces_and_crlf)
{
    const std::string a = token_of('a'), b = token_of('b');
    const std::string text = "# practice,token_sha256_hex,not_after\n"
                             "\n"
                             "A81001," + hash_of(a) + ",2027-03-31T23:59:59Z\r\n"
                             "   # an indented comment\n"
                             "\t\n"
                             "  B82002 , " + hash_of(b) + " , 2028-01-01T00:00:00Z  \n"
                             "# trailing comment without newline";
    const auto table = credential_table::parse(text, "creds.csv");
    ASSERT_EQ(table.size(), 2u);
    const auto& first = table.credentials()[0];
    EXPECT_EQ(first.practice, "A81001");
    EXPECT_EQ(first.token_sha256, sha256(a));
    EXPECT_EQ(first.not_after, sys_days{2027y / 3 / 31} + 23h + 59min + 59s);
    const auto& second = table.credentials()[1];
    EXPECT_EQ(second.practice, "B82002");
    EXPECT_EQ(second.token_sha256, sha256(b));
    EXPECT_EQ(second.not_after, sys_days{2028y / 1 / 1});
}

TEST(credentials_parse, last_line_without_newline)
{
    const auto table = credential_table::parse("A81001," + hash_of(token_of('a')) + ",2027-03-31T23:59:59Z", "x");
    EXPECT_EQ(table.size(), 1u);
}

TEST(credentials_parse, upper_case_hex_is_the_same_digest)
{
    std::string upper = hash_of(token_of('a'));
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto table = credential_table::parse("A81001," + upper + ",2027-03-31T23:59:59Z\n", "creds.csv");
    ASSERT_EQ(table.size(), 1u);
    EXPECT_EQ(table.credentials()[0].token_sha256, sha256(token_of('a')));
    EXPECT_EQ(table.authenticate(token_of('a'), sys_days{2027y / 1 / 1}).status, auth_status::ok);
}

TEST(credentials_parse, rotation_one_practice_two_tokens)
{
    const std::string old_token = token_of('o'), new_token_text = token_of('n');
    const auto table = credential_table::parse("A81001," + hash_of(old_token) + ",2027-03-31T23:59:59Z\n"
                                                   "A81001," + hash_of(new_token_text) + ",2028-03-31T23:59:59Z\n",
                                               "creds.csv");
    ASSERT_EQ(table.size(), 2u);
    const auto now = sys_days{2027y / 6 / 1};
    const auto old_result = table.authenticate(old_token, now);
    const auto new_result = table.authenticate(new_token_text, now);
    EXPECT_EQ(old_result.status, auth_status::expired);
    EXPECT_EQ(new_result.status, auth_status::ok);
    ASSERT_TRUE(old_result.who && new_result.who);
    EXPECT_EQ(old_result.who->practice, "A81001");
    EXPECT_EQ(new_result.who->practice, "A81001");
    EXPECT_NE(old_result.who, new_result.who);
    // Before the first one's not_after, both work.
    EXPECT_EQ(table.authenticate(old_token, sys_days{2027y / 1 / 1}).status, auth_status::ok);
    EXPECT_EQ(table.authenticate(new_token_text, sys_days{2027y / 1 / 1}).status, auth_status::ok);
}

TEST(credentials_parse, duplicate_hash_is_an_error_naming_both_lines)
{
    const std::string hash = hash_of(token_of('a'));
    std::string upper = hash;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // The same hash for another practice, written in upper case, after a comment.
    const auto error = parse_error("A81001," + hash + ",2027-03-31T23:59:59Z\n# rotated\nB82002," + upper
                                   + ",2028-03-31T23:59:59Z\n");
    EXPECT_EQ(error.key(), "credentials.file");
    EXPECT_EQ(error.origin(), "at creds.csv:3");
    EXPECT_NE(std::string(error.what()).find("same as on line 1"), std::string::npos) << error.what();
}

struct malformed_line {
    std::string line;
    std::string fault;  // a part of the message
};

TEST(credentials_parse, every_malformed_field_names_file_line_and_fault)
{
    const std::string hash = hash_of(token_of('a'));
    const std::string good_time = "2027-03-31T23:59:59Z";
    const std::vector<malformed_line> cases = {
        {"A81001," + hash, "has 2 comma-separated fields: expected 3 or 4"},
        {"A81001", "has 1 comma-separated fields: expected 3 or 4"},
        {"A81001," + hash + "," + good_time + ",extra", "role \"extra\" is not a role"},
        {"A81001," + hash + "," + good_time + ",practice,x", "has 5 comma-separated fields: expected 3 or 4"},
        {"A81001," + hash + "," + good_time + ",Commissioner", "role \"Commissioner\" is not a role"},
        {"A81001," + hash + "," + good_time + ",", "role \"\" is not a role"},
        {"A81001," + hash + "," + good_time + ",commissioner", "commissioner \"A81001\" is not an ODS organisation code"},
        {"QW," + hash + "," + good_time + ",commissioner", "commissioner \"QW\" is not an ODS organisation code"},
        {"qwe," + hash + "," + good_time + ",commissioner", "commissioner \"qwe\""},
        {"QWE," + hash + "," + good_time, "practice \"QWE\" is not an ODS practice code"},
        {"OPS_1," + hash + "," + good_time + ",operator", "operator \"OPS_1\" is not an operator name"},
        {"," + hash + "," + good_time + ",operator", "operator \"\" is not an operator name"},
        {"A81001;" + hash + ";" + good_time, "has 1 comma-separated fields"},
        {"a81001," + hash + "," + good_time, "practice \"a81001\" is not an ODS practice code"},
        {"A8100," + hash + "," + good_time, "practice \"A8100\" is not an ODS practice code"},
        {"A810012," + hash + "," + good_time, "practice \"A810012\" is not an ODS practice code"},
        {"181001," + hash + "," + good_time, "practice \"181001\""},
        {"A8100X," + hash + "," + good_time, "practice \"A8100X\""},
        {"," + hash + "," + good_time, "practice \"\" is not an ODS practice code"},
        {"A81001," + hash.substr(1) + "," + good_time, "(63 characters): expected 64 hex digits"},
        {"A81001," + hash + "0," + good_time, "(65 characters): expected 64 hex digits"},
        {"A81001,g" + hash.substr(1) + "," + good_time, "(64 characters): expected 64 hex digits"},
        {"A81001,," + good_time, "token_sha256_hex \"\" (0 characters)"},
        {"A81001," + hash + ",2027-03-31", "not_after \"2027-03-31\" is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",2027-02-29T00:00:00Z", "not_after \"2027-02-29T00:00:00Z\" is not an RFC 3339"},
        {"A81001," + hash + ",2027-03-31T24:00:00Z", "is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",2027-03-31T23:59:60Z", "is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",2027-03-31T23:59:59", "is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",2027-03-31 23:59:59Z", "is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",2027-03-31T23:59:59Zjunk", "is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",", "not_after \"\" is not an RFC 3339 UTC time"},
        {"A81001," + hash + ",2027-03-31T23:59:59+01:00", "is not in UTC: expected the offset Z"},
        {"A81001," + hash + ",2027-03-31T23:59:59-05:00", "is not in UTC"},
    };
    for (const auto& c : cases) {
        // Line 4: after a comment, a good line and a blank line, so the line count is tested too.
        const std::string text =
            "# header\nB82002," + hash_of(token_of('b')) + "," + good_time + "\n\n" + c.line + "\n";
        const auto error = parse_error(text);
        const std::string message = error.what();
        EXPECT_EQ(error.key(), "credentials.file") << c.line;
        EXPECT_EQ(error.value(), "\"creds.csv\"") << c.line;
        EXPECT_EQ(error.origin(), "at creds.csv:4") << message;
        EXPECT_NE(message.find(c.fault), std::string::npos) << "expected \"" << c.fault << "\" in: " << message;
        EXPECT_TRUE(message.starts_with("config: credentials.file = \"creds.csv\": ")) << message;
        EXPECT_TRUE(message.ends_with("(at creds.csv:4)")) << message;
    }
}

TEST(credentials_parse, message_escapes_control_bytes_and_cuts_long_fields)
{
    const auto control = parse_error(std::string("A8\x01" "001,") + hash_of(token_of('a')) + ",2027-03-31T23:59:59Z\n");
    EXPECT_NE(std::string(control.what()).find("\"A8\\x01001\""), std::string::npos) << control.what();
    const auto long_field =
        parse_error(std::string(500, 'A') + "," + hash_of(token_of('a')) + ",2027-03-31T23:59:59Z\n");
    EXPECT_LT(std::string(long_field.what()).size(), 300u) << long_field.what();
    EXPECT_NE(std::string(long_field.what()).find("\"..."), std::string::npos) << long_field.what();
}

TEST(credentials_parse, the_first_fault_is_reported)
{
    const auto error = parse_error("bad\nworse,,\n");
    EXPECT_EQ(error.origin(), "at creds.csv:1");
}

TEST(credentials_parse, roles_from_the_optional_fourth_column)
{
    const std::string t = "2027-03-31T23:59:59Z";
    const auto table = credential_table::parse("A81001," + hash_of(token_of('a')) + "," + t + "\n"
                                                   + "A81002," + hash_of(token_of('b')) + "," + t + ",practice\n"
                                                   + "QWE," + hash_of(token_of('c')) + "," + t + ",commissioner\n"
                                                   + "X2625," + hash_of(token_of('d')) + "," + t + " , commissioner \n"
                                                   + "OPS-1," + hash_of(token_of('e')) + "," + t + ",operator\n",
                                               "creds.csv");
    ASSERT_EQ(table.size(), 5u);
    const auto& c = table.credentials();
    EXPECT_EQ(c[0].access, role::practice);  // three columns: a practice, as before
    EXPECT_EQ(c[1].access, role::practice);
    EXPECT_EQ(c[2].access, role::commissioner);
    EXPECT_EQ(c[2].practice, "QWE");
    EXPECT_EQ(c[3].access, role::commissioner);
    EXPECT_EQ(c[4].access, role::operator_);
    const auto auth = table.authenticate(token_of('c'), system_clock::now());
    ASSERT_EQ(auth.status, auth_status::ok);
    EXPECT_EQ(auth.who->access, role::commissioner);
}

TEST(credentials_roles, names_and_codes)
{
    for (const auto r : {role::practice, role::commissioner, role::operator_})
        EXPECT_EQ(parse_role(role_name(r)), r);
    EXPECT_EQ(role_name(role::operator_), "operator");
    EXPECT_FALSE(parse_role("operator_"));
    EXPECT_FALSE(parse_role(""));
    for (const auto* good : {"QWE", "X26", "15F00", "0DF"}) EXPECT_TRUE(well_formed_organisation(good)) << good;
    for (const auto* bad : {"QW", "QWERTY", "qwe", "Q-E", "", "QW E"}) EXPECT_FALSE(well_formed_organisation(bad)) << bad;
    EXPECT_TRUE(well_formed_operator("OPS-1"));
    EXPECT_FALSE(well_formed_operator(std::string(33, 'A')));
    EXPECT_FALSE(well_formed_operator("ops"));
}

// ---- load -------------------------------------------------------------------------------------

TEST(credentials_load, reads_a_file)
{
    scratch_directory dir;
    const auto file =
        dir.write("credentials.csv", "# header\nA81001," + hash_of(token_of('a')) + ",2027-03-31T23:59:59Z\n");
    const auto table = credential_table::load(file);
    ASSERT_EQ(table.size(), 1u);
    EXPECT_EQ(table.authenticate(token_of('a'), sys_days{2027y / 1 / 1}).status, auth_status::ok);
}

TEST(credentials_load, faults_name_the_path_and_line)
{
    scratch_directory dir;
    const auto file = dir.write("credentials.csv", "# header\nA81001,zz,2027-03-31T23:59:59Z\n");
    try {
        (void)credential_table::load(file);
        FAIL() << "no config_error";
    } catch (const config_error& error) {
        EXPECT_EQ(error.origin(), "at " + file.string() + ":2");
        EXPECT_EQ(error.key(), "credentials.file");
    }
}

TEST(credentials_load, missing_file_and_directory_are_errors)
{
    scratch_directory dir;
    const auto missing = dir.path() / "missing.csv";
    try {
        (void)credential_table::load(missing);
        FAIL() << "no config_error";
    } catch (const config_error& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find(missing.string()), std::string::npos) << message;
        EXPECT_NE(message.find("cannot open the credential file: No such file or directory"), std::string::npos)
            << message;
    }
    try {
        (void)credential_table::load(dir.path());
        FAIL() << "no config_error";
    } catch (const config_error& error) {
        EXPECT_NE(std::string(error.what()).find("not a regular file"), std::string::npos) << error.what();
    }
}

TEST(credentials_load, waits_for_a_writer_holding_the_lock)
{
    scratch_directory dir;
    const auto file = dir.write("credentials.csv", "");
    const int writer = ::open(file.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(writer, 0);
    ASSERT_EQ(::flock(writer, LOCK_EX), 0);
    auto loading = std::async(std::launch::async, [&] { return credential_table::load(file); });
    std::this_thread::sleep_for(100ms);
    // The line is written while the reader waits: it must see all of it.
    const std::string line = "A81001," + hash_of(token_of('a')) + ",2027-03-31T23:59:59Z\n";
    ASSERT_EQ(::write(writer, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    ASSERT_EQ(::flock(writer, LOCK_UN), 0);
    ::close(writer);
    EXPECT_EQ(loading.get().size(), 1u);
}

// ---- authenticate -----------------------------------------------------------------------------

class credentials_authenticate : public ::testing::Test {
protected:
    const std::string token = token_of('t');
    const sys_seconds not_after = sys_days{2027y / 3 / 31} + 23h + 59min + 59s;
    const credential_table table = credential_table::parse(
        "A81001," + hash_of(token) + ",2027-03-31T23:59:59Z\n"
        "B82002," + hash_of(token_of('u')) + ",2030-01-01T00:00:00Z\n",
        "creds.csv");
};

TEST_F(credentials_authenticate, ok_before_and_exactly_at_not_after)
{
    for (const auto now : {system_clock::time_point(sys_days{2026y / 1 / 1}), system_clock::time_point(not_after - 1s),
                           system_clock::time_point(not_after)}) {
        const auto result = table.authenticate(token, now);
        EXPECT_EQ(result.status, auth_status::ok);
        ASSERT_NE(result.who, nullptr);
        EXPECT_EQ(result.who->practice, "A81001");
        EXPECT_EQ(result.who->not_after, not_after);
    }
}

TEST_F(credentials_authenticate, the_whole_not_after_second_still_works)
{
    EXPECT_EQ(table.authenticate(token, not_after + 999ms).status, auth_status::ok);
    EXPECT_EQ(table.authenticate(token, not_after + 999999us).status, auth_status::ok);
}

TEST_F(credentials_authenticate, expired_one_second_after)
{
    for (const auto now : {system_clock::time_point(not_after + 1s), system_clock::time_point(not_after + 1001ms),
                           system_clock::time_point(sys_days{2040y / 1 / 1})}) {
        const auto result = table.authenticate(token, now);
        EXPECT_EQ(result.status, auth_status::expired);
        ASSERT_NE(result.who, nullptr);  // so the 401 can say when it expired
        EXPECT_EQ(result.who->practice, "A81001");
        EXPECT_EQ(result.who->not_after, not_after);
    }
}

TEST_F(credentials_authenticate, unknown_token)
{
    const auto result = table.authenticate(token_of('x'), sys_days{2026y / 1 / 1});
    EXPECT_EQ(result.status, auth_status::unknown);
    EXPECT_EQ(result.who, nullptr);
}

TEST_F(credentials_authenticate, malformed_tokens_are_unknown)
{
    const std::vector<std::string> malformed = {
        "",
        token.substr(1),                    // 42 characters
        token + "A",                        // 44
        token.substr(0, 42) + "=",          // padding
        token.substr(0, 41) + "A=",         // padding
        "+" + token.substr(1),              // base64, not base64url
        "/" + token.substr(1),
        " " + token.substr(1),
        token.substr(0, 42) + "B",          // non-canonical: the last character's low bits set
        std::string(42, 't') + '\0',
        "Bearer " + token,
        hash_of(token),                     // the hash itself is not a token
    };
    for (const auto& t : malformed) {
        const auto result = table.authenticate(t, sys_days{2026y / 1 / 1});
        EXPECT_EQ(result.status, auth_status::unknown) << t;
        EXPECT_EQ(result.who, nullptr) << t;
    }
}

TEST_F(credentials_authenticate, a_token_differing_in_any_one_character_is_unknown)
{
    for (std::size_t i = 0; i < token.size(); ++i) {
        std::string changed = token;
        changed[i] = i + 1 == token.size() ? 'E' : 's';  // 'E' keeps the last character canonical
        ASSERT_TRUE(well_formed_token(changed)) << changed;
        EXPECT_EQ(table.authenticate(changed, sys_days{2026y / 1 / 1}).status, auth_status::unknown) << i;
    }
}

TEST_F(credentials_authenticate, a_copy_points_into_itself)
{
    const credential_table copy = table;
    const auto result = copy.authenticate(token, sys_days{2026y / 1 / 1});
    ASSERT_EQ(result.status, auth_status::ok);
    EXPECT_EQ(result.who, &copy.credentials()[0]);
    credential_table source = copy;
    const credential_table moved = std::move(source);
    EXPECT_EQ(moved.authenticate(token, sys_days{2026y / 1 / 1}).who, &moved.credentials()[0]);
}

TEST_F(credentials_authenticate, from_many_threads_at_once)
{
    std::vector<std::future<int>> results;
    for (int t = 0; t < 4; ++t)
        results.push_back(std::async(std::launch::async, [&] {
            int right = 0;
            for (int i = 0; i < 2000; ++i) {
                right += table.authenticate(token, sys_days{2026y / 1 / 1}).status == auth_status::ok;
                right += table.authenticate(token_of('u'), sys_days{2031y / 1 / 1}).status == auth_status::expired;
                right += table.authenticate(token_of('v'), sys_days{2026y / 1 / 1}).status == auth_status::unknown;
            }
            return right;
        }));
    for (auto& r : results) EXPECT_EQ(r.get(), 6000);
}

TEST_F(credentials_authenticate, allocates_nothing_but_openssls_digest_context)
{
    if (!openssl_counting) GTEST_SKIP() << "OpenSSL allocated before the counters were installed";
    const auto now = system_clock::now();
    (void)table.authenticate(token, now);  // first use on this thread: the per-thread EVP context
    const std::string unknown = token_of('x');
    const long new_before = operator_new_calls;
    const long openssl_before = openssl_allocations.load();
    constexpr int calls = 1000;
    for (int i = 0; i < calls; ++i) {
        (void)table.authenticate(token, now);
        (void)table.authenticate(unknown, now);
        (void)table.authenticate("malformed", now);
    }
    EXPECT_EQ(operator_new_calls - new_before, 0);
    // OpenSSL 3.0 allocates the provider's context on every EVP_DigestInit: one per digest.
    EXPECT_LE(openssl_allocations.load() - openssl_before, 2 * calls);
}

// ---- expiring_before --------------------------------------------------------------------------

TEST(credentials_expiring, a_practice_counts_by_its_latest_token)
{
    const auto table = credential_table::parse(
        "C83003," + hash_of(token_of('c')) + ",2027-06-01T00:00:00Z\n"     // after the date
        "A81001," + hash_of(token_of('a')) + ",2026-12-01T00:00:00Z\n"     // before
        "B82002," + hash_of(token_of('b')) + ",2026-01-01T00:00:00Z\n"     // rotated: old token before,
        "B82002," + hash_of(token_of('B')) + ",2028-01-01T00:00:00Z\n"     //   new token after
        "D84004," + hash_of(token_of('d')) + ",2025-06-01T00:00:00Z\n"     // long expired
        "D84004," + hash_of(token_of('D')) + ",2026-12-01T00:00:00Z\n"     // latest, ties with A81001
        "E85005," + hash_of(token_of('e')) + ",2027-03-31T00:00:00Z\n",    // exactly at the date: not before it
        "creds.csv");
    const auto expiring = table.expiring_before(sys_days{2027y / 3 / 31});
    ASSERT_EQ(expiring.size(), 2u);
    EXPECT_EQ(expiring[0]->practice, "A81001");  // same not_after: practice order
    EXPECT_EQ(expiring[1]->practice, "D84004");
    EXPECT_EQ(expiring[1]->not_after, sys_days{2026y / 12 / 1});
    EXPECT_EQ(expiring[1]->token_sha256, sha256(token_of('D')));

    const auto later = table.expiring_before(sys_days{2027y / 12 / 31});
    ASSERT_EQ(later.size(), 4u);
    EXPECT_EQ(later[0]->practice, "A81001");
    EXPECT_EQ(later[1]->practice, "D84004");
    EXPECT_EQ(later[2]->practice, "E85005");
    EXPECT_EQ(later[3]->practice, "C83003");
    EXPECT_TRUE(table.expiring_before(sys_days{2020y / 1 / 1}).empty());
}

// ---- tokens -----------------------------------------------------------------------------------

TEST(credentials_token, new_tokens_are_well_formed_and_unique)
{
    std::set<std::string> seen;
    std::set<char> first_characters;
    for (int i = 0; i < 2000; ++i) {
        const auto token = new_token();
        ASSERT_EQ(token.size(), token_length);
        ASSERT_TRUE(well_formed_token(token)) << token;
        EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos);
        EXPECT_TRUE(seen.insert(token).second) << "repeated: " << token;
        first_characters.insert(token[0]);
    }
    EXPECT_EQ(first_characters.size(), 64u);  // 2000 draws miss one of 64 values with odds ~ 1e-26
}

TEST(credentials_token, well_formed_token)
{
    EXPECT_TRUE(well_formed_token(std::string(43, 'A')));
    EXPECT_TRUE(well_formed_token(std::string(42, '_') + 'w'));
    EXPECT_TRUE(well_formed_token(std::string(42, '-') + '8'));
    EXPECT_FALSE(well_formed_token(std::string(42, 'A') + 'B'));  // 2 unused bits set
    EXPECT_FALSE(well_formed_token(std::string(42, 'A') + '_'));
    EXPECT_FALSE(well_formed_token(std::string(42, 'A') + '='));
    EXPECT_FALSE(well_formed_token(std::string(42, 'A')));
    EXPECT_FALSE(well_formed_token(std::string(44, 'A')));
    EXPECT_FALSE(well_formed_token(std::string(42, 'A') + '\xc0'));
    EXPECT_FALSE(well_formed_token(std::string(43, '.')));
}

TEST(credentials_practice, well_formed_practice)
{
    EXPECT_TRUE(well_formed_practice("A81001"));
    EXPECT_TRUE(well_formed_practice("Z99999"));
    for (const auto* bad : {"", "a81001", "A8100", "A810011", "AA1001", "181001", "A8100 ", " A8100", "Ä81001"})
        EXPECT_FALSE(well_formed_practice(bad)) << bad;
}

}  // namespace
}  // namespace sluice::credentials
