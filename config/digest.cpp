// SHA-256, SHA-1 and hex (see digest.hpp).
#include "config/digest.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace sluice::config {

namespace {

struct evp_md_free {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct evp_md_ctx_free {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// Fetched once: an implicit fetch (EVP_sha256() in EVP_DigestInit) looks the provider up again
// on every call.
const EVP_MD* sha256_algorithm()
{
    static const std::unique_ptr<EVP_MD, evp_md_free> algorithm{EVP_MD_fetch(nullptr, "SHA2-256", nullptr)};
    if (!algorithm) throw std::runtime_error("OpenSSL: cannot fetch SHA2-256");
    return algorithm.get();
}

EVP_MD_CTX* thread_digest_context()
{
    thread_local const std::unique_ptr<EVP_MD_CTX, evp_md_ctx_free> context{EVP_MD_CTX_new()};
    if (!context) throw std::runtime_error("OpenSSL: cannot allocate a digest context");
    return context.get();
}

}  // namespace

sha256_digest sha256(std::string_view data)
{
    const EVP_MD* algorithm = sha256_algorithm();
    EVP_MD_CTX* context = thread_digest_context();
    sha256_digest digest;
    unsigned int length = 0;
    if (EVP_DigestInit_ex2(context, algorithm, nullptr) != 1 || EVP_DigestUpdate(context, data.data(), data.size()) != 1
        || EVP_DigestFinal_ex(context, digest.data(), &length) != 1 || length != digest.size())
        throw std::runtime_error("OpenSSL: SHA-256 failed");
    return digest;
}

// Rare (once per script per process): the one-shot interface is enough.
sha1_digest sha1(std::string_view data)
{
    sha1_digest digest;
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha1(), nullptr) != 1
        || length != digest.size())
        throw std::runtime_error("OpenSSL: SHA-1 failed");
    return digest;
}

std::string to_hex(std::span<const unsigned char> bytes)
{
    constexpr std::string_view hex_digits = "0123456789abcdef";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (const unsigned char byte : bytes) {
        text += hex_digits[byte >> 4];
        text += hex_digits[byte & 0x0f];
    }
    return text;
}

}  // namespace sluice::config
