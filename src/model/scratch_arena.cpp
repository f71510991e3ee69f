#include "model/scratch_arena.h"

#include <algorithm>
#include <new>

namespace hearth::model {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMinBlock = size_t{1} << 20;
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

ScratchArena::~ScratchArena() {
    for (auto& b : blocks_) free_block(b);
}

ScratchArena::Block ScratchArena::new_block(size_t size) {
    Block b;
    b.size = round_up(std::max(size, kMinBlock));
    b.data = static_cast<std::byte*>(::operator new(b.size, std::align_val_t{kAlign}));
    return b;
}

void ScratchArena::free_block(Block& b) {
    if (b.data) ::operator delete(b.data, std::align_val_t{kAlign});
    b.data = nullptr;
}

void* ScratchArena::alloc_bytes(size_t n) {
    n = round_up(std::max<size_t>(n, 1));
    if (blocks_.empty()) blocks_.push_back(new_block(n));
    if (blocks_[cur_].used + n > blocks_[cur_].size) {
        // Blocks after cur_ are empty (rewind clears them): use the next one if it is big
        // enough, else replace the tail by one block that fits this and then some.
        if (cur_ + 1 < blocks_.size() && blocks_[cur_ + 1].size >= n) {
            ++cur_;
        } else {
            for (size_t i = cur_ + 1; i < blocks_.size(); ++i) free_block(blocks_[i]);
            blocks_.resize(cur_ + 1);
            blocks_.push_back(new_block(std::max(n, capacity())));
            ++cur_;
        }
    }
    Block& b = blocks_[cur_];
    void* p = b.data + b.used;
    b.used += n;
    return p;
}

void ScratchArena::rewind(Mark m) {
    if (blocks_.empty()) return;
    for (size_t i = m.block + 1; i < blocks_.size(); ++i) blocks_[i].used = 0;
    cur_ = m.block;
    blocks_[cur_].used = m.used;
}

void ScratchArena::reset() {
    if (blocks_.size() > 1) {
        const size_t total = capacity();
        for (auto& b : blocks_) free_block(b);
        blocks_.clear();
        blocks_.push_back(new_block(total));
    }
    cur_ = 0;
    if (!blocks_.empty()) blocks_[0].used = 0;
}

void ScratchArena::reserve(size_t bytes) {
    reset();
    if (capacity() >= bytes) return;
    for (auto& b : blocks_) free_block(b);
    blocks_.clear();
    blocks_.push_back(new_block(bytes));
    cur_ = 0;
}

size_t ScratchArena::capacity() const {
    size_t s = 0;
    for (const auto& b : blocks_) s += b.size;
    return s;
}

}  // namespace hearth::model
