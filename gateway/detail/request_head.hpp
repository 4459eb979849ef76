// The wire rules of a request's head that Beast 1.81 does not keep, checked on the raw bytes
// before Beast parses them (RFC 9112). Pure: bytes in, a verdict out; no allocation.
//
// Why a scan of our own: Beast's parser is lenient where a front end must be strict, and one of
// its leniencies is a hang. It waits for the end of the head and then for eight bytes of version,
// so `GET / \r\n\r\n` (no version) sat until the header timeout and was closed without an answer.
// It answered a bare-LF head 505 and unfolded obs-fold, which strict proxies refuse (a smuggling
// vector when two hops disagree). This scan answers each of those 400 as soon as the faulty line
// is whole, and says when the head is complete so that Beast never waits for bytes of a head
// that has ended.
//
// What a head must be (RFC 9112 sections 2.2, 3 and 5):
//   request-line = method SP request-target SP "HTTP/" DIGIT "." DIGIT CRLF
//   field-line   = field-name ":" field-value CRLF   (no whitespace before the colon)
//   head         = request-line *field-line CRLF
// with method and field-name tokens (tchar), the target visible ASCII, a field value of visible
// ASCII, SP, HTAB and obs-text (0x80-0xFF), every line ending in CRLF (a bare LF or a CR not
// followed by LF is refused), and no line starting with SP or HTAB (obs-fold, or whitespace after
// the request line). A well-formed version other than 1.0 and 1.1 passes here: Beast answers it
// 505. Once the head is whole, Content-Length must appear at most once and hold one number (Beast
// merges equal copies and lists). Everything else about the head (Host, Transfer-Encoding, the
// size of Content-Length) is checked by Beast and the session on what Beast parsed.
//
// Invariants: the scan is resumable: scanning a prefix, then the longer bytes from the returned
// `checked`, gives the verdict of one scan of the longer bytes, so a head arriving a byte at a
// time costs linear work. Size limits are the caller's: an incomplete head grows until the
// caller stops reading (limits.max_header_bytes: Beast then answers 431).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::gateway::detail {

enum class head_verdict : std::uint8_t {
    incomplete,  // every whole line so far is well-formed; the empty line has not arrived
    complete,    // a well-formed head, `checked` bytes long (its final CRLF included)
    malformed    // answer 400 and close: `reason` says why
};

struct head_scan {
    head_verdict verdict = head_verdict::incomplete;
    // incomplete: bytes of whole lines already checked (pass it back as `from`); complete: the
    // head's length; malformed: where the faulty line starts.
    std::size_t checked = 0;
    std::string_view reason;  // malformed only: a static text for the problem's detail
};

// Scans `bytes`, the start of a request, from offset `from` (0, or a previous scan's `checked`).
head_scan scan_request_head(std::string_view bytes, std::size_t from = 0) noexcept;

}  // namespace sluice::gateway::detail
