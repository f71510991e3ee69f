// libFuzzer target for the server's request parsing: any request body must either become a
// CompletionRequest or raise the OpenAI-shaped ApiError (400/413/...) the HTTP layer turns
// into an error response. Any other exception, a crash or a sanitizer report is a bug: it
// would reach the client as a 500 or take the server down.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "server/api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (auto parse : {&hearth::server::parse_chat_request, &hearth::server::parse_completion_request}) {
        try {
            auto r = parse(body);
            // A parsed request must serialise back to JSON (audit log, upstream forwarding).
            (void)r.messages.dump();
        } catch (const hearth::server::ApiError& e) {
            if (e.status < 400 || e.status > 499) __builtin_trap();
        }
    }
    return 0;
}
