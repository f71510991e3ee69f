#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
    for (int threads : {1, 2, 3, 8}) {
        hearth::ThreadPool pool(threads);
        for (int64_t n : {0, 1, 2, 7, 1000}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            for (int rep = 0; rep < 20; ++rep)
                pool.parallel_for(n, [&](int64_t b, int64_t e) {
                    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
                });
            for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 20) << threads << " " << n;
        }
    }
}

TEST(ThreadPool, RunGivesEveryThreadItsIndex) {
    hearth::ThreadPool pool(4);
    std::vector<std::atomic<int>> seen(4);
    for (int rep = 0; rep < 100; ++rep) pool.run([&](int i, int n) {
        EXPECT_EQ(n, 4);
        seen[static_cast<size_t>(i)]++;
    });
    for (auto& s : seen) EXPECT_EQ(s.load(), 100);
}
