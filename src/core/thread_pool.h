#pragma once
// A persistent pool: threads are created once and woken per parallel region, because a
// decode step runs hundreds of small regions and thread creation would dominate. Between
// regions the workers spin briefly on an atomic generation counter before sleeping on the
// condition variable, so back-to-back regions (the decode loop) skip the futex wake-up.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
public:
    // n_threads counts the calling thread, which always takes part in the work.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(thread_index, n_threads) on every thread and returns when all are done.
    void run(const std::function<void(int, int)>& fn);

    // Splits [0, n) into contiguous chunks, one per thread; fn(begin, end).
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

private:
    void worker(int index);

    int n_threads_;
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_start_;
    std::condition_variable cv_done_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<int> sleepers_{0};   // workers blocked (or about to block) on cv_start_
    std::atomic<bool> waiting_{false};  // the caller blocked on cv_done_
    bool stop_ = false;
};

// Number of hardware threads, at least 1.
int hardware_threads();

}  // namespace hearth
