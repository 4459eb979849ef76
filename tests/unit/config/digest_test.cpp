// config/digest.hpp: SHA-256 and SHA-1 against published vectors, from many threads at once, and
// lower-case hex. (Moved from tests/unit/credentials when hashing left the credentials.)
#include "config/digest.hpp"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

namespace sluice::config {
namespace {

// ---- SHA-256 and hex ---------------------------------------------------------------------------

TEST(config_digest, published_vectors)
{
    // FIPS 180-2 appendix B.
    EXPECT_EQ(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(to_hex(sha256(std::string(1000000, 'a'))),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(config_digest, same_result_from_many_threads)
{
    const auto expected = sha256("abc");
    std::vector<std::future<bool>> results;
    for (int t = 0; t < 4; ++t)
        results.push_back(std::async(std::launch::async, [&] {
            bool same = true;
            for (int i = 0; i < 1000; ++i) same = same && sha256("abc") == expected;
            return same;
        }));
    for (auto& r : results) EXPECT_TRUE(r.get());
}

TEST(config_digest, hex_is_lower_case_64_characters)
{
    sha256_digest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<unsigned char>(i * 8 + 7);
    const auto hex = to_hex(digest);
    EXPECT_EQ(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

// ---- SHA-1 (Redis names a script by it) -----------------------------------------------------

TEST(config_digest, sha1_published_vectors)
{
    // FIPS 180-2 appendix A.
    EXPECT_EQ(to_hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    EXPECT_EQ(to_hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(to_hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(config_digest, hex_of_nothing_is_empty)
{
    EXPECT_EQ(to_hex({}), "");
}

}  // namespace
}  // namespace sluice::config
