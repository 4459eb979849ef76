// script: the SHA-1 that EVALSHA expects, computed once per script (config/digest.hpp).
#include "redis/script.hpp"

#include "config/digest.hpp"

namespace sluice::redis {

namespace detail {

std::string sha1_hex(std::string_view data) { return config::to_hex(config::sha1(data)); }

}  // namespace detail

script::script(std::string source) {
    auto text = std::make_shared<detail::script_text>();
    text->sha1 = detail::sha1_hex(source);
    text->source = std::move(source);
    text_ = std::move(text);
}

}  // namespace sluice::redis
