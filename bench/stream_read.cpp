// Streaming-read bandwidth: the rate at which N threads read a buffer far larger than the
// last-level cache, the ceiling for a decode step that reads every weight once.
//   g++ -std=c++20 -O3 -march=native -pthread bench/stream_read.cpp -o /tmp/stream_read
//   /tmp/stream_read THREADS SOURCE [REPS=9]   -> prints "threads MiB best_GBps median_GBps"
// SOURCE is a file (a model: it is mapped read-only and read in place, as decode reads its
// weights: the same page-cache pages and 4 KiB page mappings) or a size in MiB (an anonymous
// buffer, for comparison). Each thread reads one contiguous share, as a decode thread reads
// its share of a matrix's rows, and the threads are unpinned, as hearth's pool is. They are
// started once and released together for every repetition, so thread start-up is not timed.
// Decode timings are medians, so compare with the median; best is printed for reference.
#include <fcntl.h>
#include <immintrin.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// Sums 128-byte spans with vector adds on four accumulators, so the loop is bound by loads.
uint64_t read_range(const uint8_t* p, size_t n) {
#if defined(__AVX512F__)
    __m512i a0 = _mm512_setzero_si512(), a1 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm512_add_epi64(a0, _mm512_loadu_si512(p + i));
        a1 = _mm512_add_epi64(a1, _mm512_loadu_si512(p + i + 64));
    }
    alignas(64) uint64_t out[8];
    _mm512_store_si512(out, _mm512_add_epi64(a0, a1));
    uint64_t s = 0;
    for (uint64_t v : out) s += v;
#else
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    alignas(32) uint64_t out[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    uint64_t s = out[0] + out[1] + out[2] + out[3];
#endif
    for (; i < n; ++i) s += p[i];
    return s;
}

struct Buffer {
    const uint8_t* data = nullptr;
    size_t size = 0;
    bool mapped = false;
};

Buffer open_source(const std::string& src) {
    Buffer b;
    struct stat st {};
    if (::stat(src.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return b;
        void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) return b;
        b = {static_cast<const uint8_t*>(p), static_cast<size_t>(st.st_size), true};
        return b;
    }
    const long mib = std::atol(src.c_str());
    if (mib <= 0) return b;
    b.size = static_cast<size_t>(mib) << 20;
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(4096, b.size));
    if (!p) return {};
    std::memset(p, 1, b.size);
    b.data = p;
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s THREADS FILE|MiB [REPS=9]\n", argv[0]);
        return 2;
    }
    const int threads = std::max(1, std::atoi(argv[1]));
    const int reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 9;
    const Buffer buf = open_source(argv[2]);
    if (!buf.data) {
        std::fprintf(stderr, "stream_read: cannot read %s (a file, or a size in MiB)\n", argv[2]);
        return 1;
    }
    const size_t share = (buf.size / static_cast<size_t>(threads) + 4095) / 4096 * 4096;
    std::atomic<uint64_t> sink{0};
    std::vector<double> gbps;
    std::chrono::steady_clock::time_point t0;
    // Phase 0 of every repetition starts the clock, the last phase stops it; rep -1 maps the
    // pages (a file's into this process, from the page cache) and is not timed.
    std::barrier sync(threads, [&]() noexcept {
        const auto now = std::chrono::steady_clock::now();
        if (t0.time_since_epoch().count() != 0) {
            gbps.push_back(static_cast<double>(buf.size) / std::chrono::duration<double>(now - t0).count() / 1e9);
            t0 = {};
        } else {
            t0 = now;
        }
    });
    auto worker = [&](int t) {
        const size_t b = std::min(buf.size, share * static_cast<size_t>(t));
        const size_t e = std::min(buf.size, b + share);
        sink += read_range(buf.data + b, e - b);  // untimed warm-up
        for (int r = 0; r < reps; ++r) {
            sync.arrive_and_wait();  // clock starts
            sink += read_range(buf.data + b, e - b);
            sync.arrive_and_wait();  // clock stops
        }
    };
    std::vector<std::thread> ts;
    for (int t = 1; t < threads; ++t) ts.emplace_back(worker, t);
    worker(0);
    for (auto& t : ts) t.join();
    std::vector<double> sorted = gbps;
    std::sort(sorted.begin(), sorted.end());
    std::printf("%d %zu %.2f %.2f\n", threads, buf.size >> 20, sorted.back(), sorted[sorted.size() / 2]);
    if (buf.mapped) ::munmap(const_cast<uint8_t*>(buf.data), buf.size);
    else std::free(const_cast<uint8_t*>(buf.data));
    return sink == 42 ? 1 : 0;
}
