#pragma once
// Many short strings in one buffer: a vocabulary's 150k tokens or merges take about 4 bytes of
// offset each plus their text, where a std::vector<std::string> takes 32 bytes each (plus a
// heap block for the longer ones). Append-only; views stay valid until the list is modified.
#include <cstdint>
#include <initializer_list>
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

    void reserve(size_t n) { ends_.reserve(n); }
    void push_back(std::string_view s) {
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
        const uint32_t b = i == 0 ? 0 : ends_[i - 1];
        return std::string_view(blob_).substr(b, ends_[i] - b);
    }

private:
    std::string blob_;
    std::vector<uint32_t> ends_;
};

}  // namespace hearth::tokenizer
