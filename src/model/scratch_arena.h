#pragma once
// Reusable working memory for forward passes. Every layer block needs a dozen activation
// buffers whose sizes depend only on the batch; allocating them as std::vector per layer
// per step costs a page-faulting malloc + memset each time (measurable in decode). The
// arena hands out bump-allocated, 64-byte-aligned, uninitialised memory and takes it back
// at the end of each block (ScratchScope), so a steady workload touches the same pages
// every step and never calls malloc.
//
// One arena per thread that runs forward passes (a Session, the batch scheduler, or the
// thread-local one behind Model::forward): it is not thread-safe.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hearth::model {

class ScratchArena {
public:
    ScratchArena() = default;
    ~ScratchArena();
    ScratchArena(const ScratchArena&) = delete;
    ScratchArena& operator=(const ScratchArena&) = delete;

    // n elements of T (trivial types only), valid until the enclosing scope rewinds.
    template <class T>
    T* alloc(size_t n) {
        return static_cast<T*>(alloc_bytes(n * sizeof(T)));
    }

    struct Mark {
        size_t block = 0;
        size_t used = 0;
    };
    Mark mark() const { return {cur_, blocks_.empty() ? 0 : blocks_[cur_].used}; }
    void rewind(Mark m);

    // Frees everything handed out. If the last use outgrew the first block, the blocks are
    // merged into one of their total size, so growth costs allocations only until the
    // largest batch has been seen.
    void reset();

    // Resets and makes sure one block holds at least `bytes`: a caller that knows its largest
    // pass up front gets one block instead of the doubling blocks growth leaves behind (which
    // the allocator may keep resident after they are freed).
    void reserve(size_t bytes);

    size_t capacity() const;

private:
    struct Block {
        std::byte* data = nullptr;
        size_t size = 0;
        size_t used = 0;
    };
    void* alloc_bytes(size_t n);
    static Block new_block(size_t size);
    static void free_block(Block& b);

    std::vector<Block> blocks_;
    size_t cur_ = 0;
};

// Rewinds the arena to where it was when the scope began.
class ScratchScope {
public:
    explicit ScratchScope(ScratchArena& a) : a_(a), m_(a.mark()) {}
    ~ScratchScope() { a_.rewind(m_); }
    ScratchScope(const ScratchScope&) = delete;
    ScratchScope& operator=(const ScratchScope&) = delete;

private:
    ScratchArena& a_;
    ScratchArena::Mark m_;
};

}  // namespace hearth::model
