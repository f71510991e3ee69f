#pragma once
// Many short strings in one buffer: a vocabulary's 150k tokens or merges take about 4 bytes of
// offset each plus their text, where a std::vector<std::string> takes 32 bytes each (plus a
// heap block for the longer ones). Append-only; views stay valid until the list is modified.
//
// A list can also borrow its text from memory someone else keeps (a GGUF file's map, where the
// strings already lie back to back, each after an 8-byte length): then only the 4-byte ends
// are held (1.2 MB less for Qwen2.5's vocabulary) and the list is read-only.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace hearth::tokenizer {

class StringList {
public:
    StringList() = default;
    StringList(std::initializer_list<std::string_view> items) {
        for (std::string_view s : items) push_back(s);
    }

    // count strings laid out from base as (8-byte little-endian length, bytes) pairs spanning
    // `bytes` bytes (already validated by the caller); owner keeps that memory alive.
    static StringList borrow_length_prefixed(std::shared_ptr<const void> owner, const uint8_t* base, uint64_t count,
                                             uint64_t bytes) {
        if (bytes > UINT32_MAX) throw Error("string list: more than 4 GiB of text");
        StringList l;
        l.owner_ = std::move(owner);
        l.borrowed_ = reinterpret_cast<const char*>(base);
        l.skip_ = 8;
        l.ends_.reserve(static_cast<size_t>(count));
        uint64_t at = 0;
        for (uint64_t i = 0; i < count; ++i) {
            uint64_t len;
            std::memcpy(&len, base + at, 8);
            at += 8 + len;
            if (at > bytes) throw Error("string list: string " + std::to_string(i) + " runs past the array");
            l.ends_.push_back(static_cast<uint32_t>(at));
        }
        return l;
    }

    void reserve(size_t n) { ends_.reserve(n); }
    void push_back(std::string_view s) {
        if (borrowed_) throw Error("string list: a borrowed list is read-only");
        if (blob_.size() + s.size() > UINT32_MAX) throw Error("string list: more than 4 GiB of text");
        blob_.append(s);
        ends_.push_back(static_cast<uint32_t>(blob_.size()));
    }
    void shrink_to_fit() {
        blob_.shrink_to_fit();
        ends_.shrink_to_fit();
    }

    size_t size() const { return ends_.size(); }
    bool empty() const { return ends_.empty(); }
    std::string_view operator[](size_t i) const {
        const uint32_t b = (i == 0 ? 0 : ends_[i - 1]) + skip_;
        return std::string_view((borrowed_ ? borrowed_ : blob_.data()) + b, ends_[i] - b);
    }

private:
    std::string blob_;
    std::vector<uint32_t> ends_;
    std::shared_ptr<const void> owner_;  // keeps borrowed_ alive
    const char* borrowed_ = nullptr;
    uint32_t skip_ = 0;  // bytes before each string: its length when borrowed
};

}  // namespace hearth::tokenizer
