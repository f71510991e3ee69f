// Which weight pages one decode step of a MoE model reads: loads a GGUF with hearth, turns off
// read-ahead on the mapping (MADV_RANDOM: a page becomes resident only when it is read), evicts
// the file from the page cache, runs forward passes of one token each, and counts resident pages
// per tensor with mincore(). For each routed-expert tensor it reports how many experts were read
// (most of their pages resident); one token of a top-k model must read k per tensor and layer.
// Needs a file that is in no other process's use (eviction is per file, not per mapping).
//   g++ -std=c++20 -O2 -Isrc bench/moe_touched_pages.cpp build-moe/libhearth.a -lpcre2-8 -lcrypto
//       -pthread -o /tmp/moe_touched_pages
//   /tmp/moe_touched_pages MODEL.gguf [TOKENS=1]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/model.h"

namespace {

const uintptr_t kPage = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));

// Resident bytes of [p, p + n), counted in whole pages that lie inside the range.
uint64_t resident(const uint8_t* p, uint64_t n) {
    const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + kPage - 1) / kPage * kPage;
    const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + n) / kPage * kPage;
    if (hi <= lo) return 0;
    std::vector<unsigned char> vec((hi - lo) / kPage);
    if (mincore(reinterpret_cast<void*>(lo), hi - lo, vec.data()) != 0) return 0;
    uint64_t pages = 0;
    for (unsigned char v : vec) pages += v & 1;
    return pages * kPage;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.gguf [TOKENS=1]\n", argv[0]);
        return 2;
    }
    const int n_tok = argc > 2 ? std::atoi(argv[2]) : 1;
    auto m = hearth::model::Model::load(argv[1]);
    const auto& tensors = m->file().tensors();
    const uint8_t* lo = nullptr;
    const uint8_t* hi = nullptr;
    for (const auto& t : tensors) {
        if (!lo || t.data < lo) lo = t.data;
        if (!hi || t.data + t.nbytes > hi) hi = t.data + t.nbytes;
    }
    const uintptr_t a = reinterpret_cast<uintptr_t>(lo) / kPage * kPage;
    if (madvise(reinterpret_cast<void*>(a), reinterpret_cast<uintptr_t>(hi) - a, MADV_RANDOM) != 0) perror("madvise");
    const int fd = open(argv[1], O_RDONLY);
    if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) perror("evict");
    close(fd);

    hearth::ThreadPool pool(1);
    auto cache = m->make_cache(64, hearth::DType::F32);
    std::vector<float> logits(static_cast<size_t>(m->hparams().n_vocab));
    for (int i = 0; i < n_tok; ++i) {
        const int32_t tok = 1 + i;
        m->forward(pool, cache, &tok, 1, logits.data(), false);
    }

    uint64_t exp_total = 0, exp_res = 0, other_total = 0, other_res = 0;
    std::map<int64_t, int64_t> experts_read_hist;  // experts read per tensor -> tensors
    for (const auto& t : tensors) {
        const bool routed = t.name.find("_exps") != std::string::npos && t.shape.size() == 3;
        if (!routed) {
            if (t.name == "token_embd.weight") continue;  // one row is read
            other_total += t.nbytes;
            other_res += resident(t.data, t.nbytes);
            continue;
        }
        const int64_t E = t.shape[2];
        const uint64_t slice = t.nbytes / static_cast<uint64_t>(E);
        int64_t read = 0;
        for (int64_t e = 0; e < E; ++e) {
            const uint64_t r = resident(t.data + e * slice, slice);
            read += r * 2 > slice;  // most of the expert's pages resident: it was read
            exp_res += r;
        }
        exp_total += t.nbytes;
        ++experts_read_hist[read];
    }
    std::printf("tokens decoded: %d, experts per token: %lld of %lld\n", n_tok,
                static_cast<long long>(m->hparams().n_expert_used), static_cast<long long>(m->hparams().n_expert));
    std::printf("non-expert weights (no token_embd): %.1f MB, %.1f MB resident\n", other_total / 1e6, other_res / 1e6);
    std::printf("routed-expert weights: %.1f MB, %.1f MB resident (%.2f%%)\n", exp_total / 1e6, exp_res / 1e6,
                100.0 * static_cast<double>(exp_res) / static_cast<double>(exp_total));
    for (const auto& [read, count] : experts_read_hist)
        std::printf("  %lld expert tensors had %lld experts read\n", static_cast<long long>(count), static_cast<long long>(read));
    return 0;
}
