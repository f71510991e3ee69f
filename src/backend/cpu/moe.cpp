#include "backend/cpu/moe.h"

#include <algorithm>
#include <vector>

#include "backend/cpu/ops.h"

namespace hearth::backend::cpu {

void moe_swiglu_experts(ThreadPool& pool, const ExpertWeights& gate, const ExpertWeights& up, const ExpertWeights& down,
                        const float* x, int64_t n_tokens, const int32_t* ids, const float* weights, int64_t k,
                        float* out) {
    const int64_t d = gate.all.cols, ff = gate.rows, E = gate.n_expert;
    std::fill(out, out + n_tokens * d, 0.0f);
    // Slots (t * k + j) per expert, in token order.
    std::vector<std::vector<int64_t>> slots(static_cast<size_t>(E));
    for (int64_t s = 0; s < n_tokens * k; ++s) slots[static_cast<size_t>(ids[s])].push_back(s);
    std::vector<float> xs, g, u, y;
    for (int64_t e = 0; e < E; ++e) {
        const auto& sl = slots[static_cast<size_t>(e)];
        if (sl.empty()) continue;
        const int64_t m = static_cast<int64_t>(sl.size());
        xs.resize(m * d);
        g.resize(m * ff);
        u.resize(m * ff);
        y.resize(m * d);
        for (int64_t i = 0; i < m; ++i) std::copy(x + (sl[i] / k) * d, x + (sl[i] / k + 1) * d, xs.begin() + i * d);
        matmul(pool, gate.expert(e), xs.data(), m, g.data());
        matmul(pool, up.expert(e), xs.data(), m, u.data());
        swiglu(g.data(), u.data(), g.data(), m * ff);
        matmul(pool, down.expert(e), g.data(), m, y.data());
        for (int64_t i = 0; i < m; ++i) {
            const float w = weights[sl[i]];
            float* o = out + (sl[i] / k) * d;
            const float* yi = y.data() + i * d;
            for (int64_t c = 0; c < d; ++c) o[c] += w * yi[c];
        }
    }
}

}  // namespace hearth::backend::cpu
