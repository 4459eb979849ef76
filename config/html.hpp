// HTML text: the one escaping every page we write uses (the gateway's status page, the load
// generator's report). `&`, `<`, `>`, `"` and `'` become entities, so the result is safe both as
// element text and inside a quoted attribute; every other byte is kept.
#pragma once

#include <string>
#include <string_view>

namespace sluice::config {

std::string html_escape(std::string_view text);

}  // namespace sluice::config
