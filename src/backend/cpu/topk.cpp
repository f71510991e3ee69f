#include "backend/cpu/topk.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace hearth::backend::cpu {

void route_experts(const float* logits, int64_t n_tokens, const RouterParams& p, int32_t* ids, float* weights) {
    const int64_t E = p.n_expert, k = p.n_used;
    const int64_t per_group = E / p.n_groups;
    std::vector<float> score(E), choice(E), gscore(p.n_groups);
    std::vector<int32_t> order(E), gorder(p.n_groups);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* lg = logits + t * E;
        if (p.score == RouterScore::kSoftmax) {
            const float m = *std::max_element(lg, lg + E);
            double sum = 0.0;
            for (int64_t e = 0; e < E; ++e) sum += (score[e] = std::exp(lg[e] - m));
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t e = 0; e < E; ++e) score[e] *= inv;
        } else {
            for (int64_t e = 0; e < E; ++e) score[e] = 1.0f / (1.0f + std::exp(-lg[e]));
        }
        for (int64_t e = 0; e < E; ++e) choice[e] = score[e] + (p.choice_bias ? p.choice_bias[e] : 0.0f);

        if (p.n_groups > 1 && p.n_groups_used < p.n_groups) {
            // Score each group, keep the best n_groups_used, exclude the others' experts.
            for (int64_t g = 0; g < p.n_groups; ++g) {
                const float* c = choice.data() + g * per_group;
                if (p.score == RouterScore::kSoftmax) {
                    gscore[g] = *std::max_element(c, c + per_group);  // DeepSeek-V2 group_limited_greedy
                } else {
                    float b1 = -std::numeric_limits<float>::infinity(), b2 = b1;  // V3 noaux_tc: top-2 sum
                    for (int64_t i = 0; i < per_group; ++i) {
                        if (c[i] > b1) {
                            b2 = b1;
                            b1 = c[i];
                        } else if (c[i] > b2) {
                            b2 = c[i];
                        }
                    }
                    gscore[g] = b1 + b2;
                }
            }
            std::iota(gorder.begin(), gorder.end(), 0);
            std::partial_sort(gorder.begin(), gorder.begin() + p.n_groups_used, gorder.end(),
                              [&](int32_t a, int32_t b) { return gscore[a] > gscore[b] || (gscore[a] == gscore[b] && a < b); });
            for (int64_t gi = p.n_groups_used; gi < p.n_groups; ++gi) {
                const int64_t g = gorder[gi];
                for (int64_t i = 0; i < per_group; ++i) choice[g * per_group + i] = -std::numeric_limits<float>::infinity();
            }
        }

        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [&](int32_t a, int32_t b) { return choice[a] > choice[b] || (choice[a] == choice[b] && a < b); });
        double sum = 0.0;
        for (int64_t j = 0; j < k; ++j) sum += score[order[j]];
        const float norm = p.normalize ? static_cast<float>(1.0 / (sum + 1e-20)) : 1.0f;
        for (int64_t j = 0; j < k; ++j) {
            ids[t * k + j] = order[j];
            weights[t * k + j] = score[order[j]] * norm * p.scale;
        }
    }
}

}  // namespace hearth::backend::cpu
