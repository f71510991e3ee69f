#include "model/kv_cache.h"

#include <cstring>

#include "core/error.h"
#include "quant/quant.h"

namespace hearth::model {

KVCache::KVCache(int64_t n_layer, int64_t n_ctx, int64_t k_width, int64_t v_width, DType type)
    : n_layer_(n_layer), n_ctx_(n_ctx), k_width_(k_width), v_width_(v_width), type_(type) {
    if (type != DType::F32 && type != DType::F16) throw Error("KV cache type must be F32 or F16");
    elem_ = type == DType::F32 ? 4 : 2;
    data_.resize(static_cast<size_t>(n_layer) * static_cast<size_t>(n_ctx) * (k_width + v_width) * elem_);
}

size_t KVCache::bytes_per_token() const { return static_cast<size_t>(n_layer_) * (k_width_ + v_width_) * elem_; }

// Layout: per layer, all K rows then all V rows, so a layer's keys are contiguous.
uint8_t* KVCache::k(int64_t layer, int64_t pos) {
    size_t layer_off = static_cast<size_t>(layer) * n_ctx_ * (k_width_ + v_width_) * elem_;
    return data_.data() + layer_off + static_cast<size_t>(pos) * k_width_ * elem_;
}
uint8_t* KVCache::v(int64_t layer, int64_t pos) {
    size_t layer_off = static_cast<size_t>(layer) * n_ctx_ * (k_width_ + v_width_) * elem_;
    return data_.data() + layer_off + static_cast<size_t>(n_ctx_) * k_width_ * elem_ +
           static_cast<size_t>(pos) * v_width_ * elem_;
}
const uint8_t* KVCache::k(int64_t layer, int64_t pos) const { return const_cast<KVCache*>(this)->k(layer, pos); }
const uint8_t* KVCache::v(int64_t layer, int64_t pos) const { return const_cast<KVCache*>(this)->v(layer, pos); }

void KVCache::store(int64_t layer, int64_t pos, const float* kr, const float* vr) {
    if (type_ == DType::F32) {
        std::memcpy(k(layer, pos), kr, k_width_ * sizeof(float));
        if (v_width_ > 0) std::memcpy(v(layer, pos), vr, v_width_ * sizeof(float));
        return;
    }
    auto* kd = reinterpret_cast<uint16_t*>(k(layer, pos));
    auto* vd = reinterpret_cast<uint16_t*>(v(layer, pos));
    for (int64_t i = 0; i < k_width_; ++i) kd[i] = quant::f32_to_fp16(kr[i]);
    for (int64_t i = 0; i < v_width_; ++i) vd[i] = quant::f32_to_fp16(vr[i]);
}

void KVCache::load_k(int64_t layer, int64_t pos, float* out) const {
    if (type_ == DType::F32) {
        std::memcpy(out, k(layer, pos), k_width_ * sizeof(float));
        return;
    }
    const auto* kd = reinterpret_cast<const uint16_t*>(k(layer, pos));
    for (int64_t i = 0; i < k_width_; ++i) out[i] = quant::fp16_to_f32(kd[i]);
}

}  // namespace hearth::model
