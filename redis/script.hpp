// A Lua script that runs inside Redis, named by the SHA-1 of its source (what EVALSHA and
// SCRIPT LOAD use). Copies are cheap and share the text, so a call waiting for its EVAL
// fallback keeps the source alive even if the caller's script object is gone.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sluice::redis {

namespace detail {

struct script_text {
    std::string source;
    std::string sha1;  // 40 lower-case hex digits
};

// SHA-1 of `data` as 40 lower-case hex digits.
std::string sha1_hex(std::string_view data);

}  // namespace detail

class script {
public:
    explicit script(std::string source);

    const std::string& source() const noexcept { return text_->source; }
    const std::string& sha1() const noexcept { return text_->sha1; }

    // The shared text (for the client's EVAL fallback).
    const std::shared_ptr<const detail::script_text>& text() const noexcept { return text_; }

private:
    std::shared_ptr<const detail::script_text> text_;
};

}  // namespace sluice::redis
