#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace hearth {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// How long a thread spins for the next region (or for the others to finish) before it
// blocks. Decode issues a region every few tens of microseconds; a short spin covers those
// gaps without burning a core while the pool is idle.
constexpr auto kSpin = std::chrono::microseconds(100);

template <class Pred>
bool spin_until(Pred done) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0;; ++i) {
        if (done()) return true;
        cpu_relax();
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
    }
}

}  // namespace

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_start_.notify_all();
    for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int index) {
    uint64_t seen = 0;
    for (;;) {
        if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
            std::unique_lock<std::mutex> lk(mu_);
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            cv_start_.wait(lk, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
            sleepers_.fetch_sub(1, std::memory_order_relaxed);
        }
        const std::function<void(int, int)>* job;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_) return;
            seen = generation_.load(std::memory_order_acquire);
            job = job_;
        }
        (*job)(index, n_threads_);
        if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && waiting_.load(std::memory_order_seq_cst)) {
            std::lock_guard<std::mutex> lk(mu_);
            cv_done_.notify_one();
        }
    }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (n_threads_ == 1) {
        fn(0, 1);
        return;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        job_ = &fn;
        pending_.store(n_threads_ - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_seq_cst);
    }
    if (sleepers_.load(std::memory_order_seq_cst) > 0) cv_start_.notify_all();
    fn(0, n_threads_);
    if (spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) return;
    std::unique_lock<std::mutex> lk(mu_);
    waiting_.store(true, std::memory_order_seq_cst);
    cv_done_.wait(lk, [&] { return pending_.load(std::memory_order_seq_cst) == 0; });
    waiting_.store(false, std::memory_order_relaxed);
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    int nt = static_cast<int>(std::min<int64_t>(n_threads_, n));
    if (nt == 1) {
        fn(0, n);
        return;
    }
    run([&](int i, int) {
        if (i >= nt) return;
        int64_t b = n * i / nt, e = n * (i + 1) / nt;
        if (b < e) fn(b, e);
    });
}

}  // namespace hearth
