// Streaming-read bandwidth: the rate at which N threads can read a buffer much larger than
// the last-level cache, the ceiling for a decode step that reads every weight once.
//   g++ -std=c++20 -O3 -march=native -pthread bench/stream_read.cpp -o /tmp/stream_read
//   /tmp/stream_read [threads=1] [MiB=512] [reps=10]     -> prints "threads MiB best_GBps median_GBps"
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// Sums 64-byte lines with vector adds so the loop is bound by loads, not by arithmetic.
uint64_t read_range(const uint8_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    alignas(32) uint64_t out[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), s);
    return out[0] + out[1] + out[2] + out[3];
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
    const size_t mib = argc > 2 ? static_cast<size_t>(std::atol(argv[2])) : 512;
    const int reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 10;
    const size_t n = mib << 20;
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, n));
    if (!buf) return 1;
    // First touch by the thread that will read each part.
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] { std::memset(buf + n / threads * t, t + 1, n / threads); });
    for (auto& t : ts) t.join();
    std::vector<double> gbps;
    std::atomic<uint64_t> sink{0};
    for (int r = 0; r < reps; ++r) {
        ts.clear();
        const auto t0 = std::chrono::steady_clock::now();
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] { sink += read_range(buf + n / threads * t, n / threads); });
        for (auto& t : ts) t.join();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        gbps.push_back(static_cast<double>(n) / s / 1e9);
    }
    std::sort(gbps.begin(), gbps.end());
    std::printf("%d %zu %.2f %.2f\n", threads, mib, gbps.back(), gbps[gbps.size() / 2]);
    std::free(buf);
    return sink == 42 ? 1 : 0;
}
