#include "backend/cpu/rope_yarn.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace hearth::backend::cpu {

std::vector<float> yarn_freq_factors(int64_t rope_dims, float base, float factor, int64_t orig_ctx, float beta_fast,
                                     float beta_slow, float ext_factor) {
    // Dimension (in [0, rope_dims)) at which a frequency makes n_rot turns over orig_ctx.
    auto corr_dim = [&](float n_rot) {
        return static_cast<double>(rope_dims) * std::log(static_cast<double>(orig_ctx) / (n_rot * 2.0 * std::numbers::pi)) /
               (2.0 * std::log(static_cast<double>(base)));
    };
    const double low = std::max(0.0, std::floor(corr_dim(beta_fast)));
    const double high = std::min(static_cast<double>(rope_dims - 1), std::ceil(corr_dim(beta_slow)));
    std::vector<float> out(static_cast<size_t>(rope_dims / 2));
    for (int64_t i = 0; i < rope_dims / 2; ++i) {
        // ramp 1: keep the original frequency (extrapolate); 0: divide it by factor (interpolate).
        const double y = (static_cast<double>(i) - low) / std::max(0.001, high - low);
        const double ramp = (1.0 - std::min(1.0, std::max(0.0, y))) * ext_factor;
        const double mult = ramp + (1.0 - ramp) / factor;  // theta = theta_extrap * mult
        out[static_cast<size_t>(i)] = static_cast<float>(1.0 / mult);
    }
    return out;
}

}  // namespace hearth::backend::cpu
