// libFuzzer target for the GGUF reader. Any input must either parse or raise hearth::Error;
// everything a parsed file exposes is read, so out-of-bounds pointers or lengths show up
// under AddressSanitizer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "format/gguf.h"

namespace {

volatile uint64_t g_sink;  // keeps the reads below from being optimised away

uint64_t touch(const hearth::format::GGUFValue& v) {
    using hearth::format::GGUFType;
    uint64_t h = static_cast<uint64_t>(v.type);
    // The checked accessors may throw on range (as_int of a huge uint64); that is fine.
    try {
        if (v.is_int()) h += static_cast<uint64_t>(v.as_int());
    } catch (const hearth::Error&) {
    }
    if (v.is_float()) h += static_cast<uint64_t>(v.as_float() != 0.0);
    if (v.type == GGUFType::BOOL) h += v.as_bool();
    if (v.is_string()) {
        for (char c : v.as_string()) h = h * 31 + static_cast<unsigned char>(c);
    }
    if (v.is_array()) {
        for (const auto& item : v.as_array()) h += touch(item);
    }
    return h + v.to_display(4).size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto f = hearth::format::GGUFFile::parse(data, size, "fuzz.gguf");
        uint64_t h = f->version() + f->alignment() + f->file_size();
        for (const auto& [key, value] : f->metadata()) {
            h += key.size() + touch(value);
            if (f->find(key) != &value) __builtin_trap();
        }
        for (const auto& t : f->tensors()) {
            h += static_cast<uint64_t>(t.n_elements() + t.rows()) + t.shape.size() + t.offset;
            if (f->find_tensor(t.name) != &t) __builtin_trap();
            if (t.nbytes > 0) h += t.data[0] + t.data[t.nbytes - 1];
            if (t.data < data || t.data + t.nbytes > data + size) __builtin_trap();
        }
        g_sink = h;
    } catch (const hearth::Error&) {
        // Rejecting bad input with a message is the expected outcome.
    }
    return 0;
}
