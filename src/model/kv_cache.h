#pragma once
// Keys and values of past positions for one sequence, per layer, sized up front.
// F16 storage halves the memory and is what llama.cpp uses by default; F32 is exact and
// is what the reference tests use.
//
// Layouts (HParams::cache_k_width / cache_v_width say which):
//   standard attention: per token a K row (n_head_kv x head_dim_k) and a V row.
//   MLA (deepseek2):    per token one "K" row [kv_lora_rank latent (after kv_a_norm) |
//                       qk_rope shared roped key] and no V row (v_width 0): keys and values
//                       are both decompressed from the latent, or the query is absorbed.
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace hearth::model {

class KVCache {
public:
    KVCache(int64_t n_layer, int64_t n_ctx, int64_t k_width, int64_t v_width, DType type);

    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_past() const { return n_past_; }
    void set_n_past(int64_t n) { n_past_ = n; }
    DType type() const { return type_; }
    size_t bytes() const { return data_.size(); }
    int64_t k_width() const { return k_width_; }
    int64_t v_width() const { return v_width_; }
    size_t bytes_per_token() const;
    size_t k_row_bytes() const { return static_cast<size_t>(k_width_) * elem_; }
    size_t v_row_bytes() const { return static_cast<size_t>(v_width_) * elem_; }

    uint8_t* k(int64_t layer, int64_t pos);
    uint8_t* v(int64_t layer, int64_t pos);
    const uint8_t* k(int64_t layer, int64_t pos) const;
    const uint8_t* v(int64_t layer, int64_t pos) const;

    // v may be null when v_width is 0.
    void store(int64_t layer, int64_t pos, const float* k, const float* v);
    // Row `pos` of layer's K as floats (k_width of them).
    void load_k(int64_t layer, int64_t pos, float* out) const;

private:
    int64_t n_layer_, n_ctx_, k_width_, v_width_;
    DType type_;
    size_t elem_;
    int64_t n_past_ = 0;
    std::vector<uint8_t> data_;
};

}  // namespace hearth::model
