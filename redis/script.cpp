// script: the SHA-1 that EVALSHA expects, computed once per script with OpenSSL.
#include "redis/script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace sluice::redis {

namespace detail {

std::string sha1_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("redis::script: OpenSSL SHA-1 failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    text.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        text.push_back(hex[digest[i] >> 4]);
        text.push_back(hex[digest[i] & 0x0f]);
    }
    return text;
}

}  // namespace detail

script::script(std::string source) {
    auto text = std::make_shared<detail::script_text>();
    text->sha1 = detail::sha1_hex(source);
    text->source = std::move(source);
    text_ = std::move(text);
}

}  // namespace sluice::redis
