// libFuzzer target for the safetensors reader. Any input must either parse or raise
// hearth::Error; every tensor a parsed file exposes is read at both ends, so an offset or
// length that escapes the buffer shows up under AddressSanitizer.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "format/safetensors.h"

namespace {
volatile uint64_t g_sink;  // keeps the reads below from being optimised away
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto f = hearth::format::SafetensorsFile::parse(data, size, "fuzz.safetensors");
        uint64_t h = f->file_size();
        for (const auto& [k, v] : f->metadata()) h += k.size() + v.size();
        for (const auto& t : f->tensors()) {
            h += static_cast<uint64_t>(t.n_elements()) + t.shape.size() + t.offset + t.dtype.size();
            if (f->find(t.name) != &t) __builtin_trap();
            if (t.data < data || t.nbytes > size || t.data + t.nbytes > data + size) __builtin_trap();
            if (t.nbytes > 0) h += t.data[0] + t.data[t.nbytes - 1];
        }
        g_sink = h;
    } catch (const hearth::Error&) {
        // Rejecting bad input with a message is the expected outcome.
    }
    return 0;
}
