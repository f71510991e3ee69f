#include "format/hf_fp8.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "quant/quant.h"

namespace hearth::format::hf {

Fp8Config read_fp8_config(const JsonObject& cfg) {
    Fp8Config out;
    const json* q = cfg.get("quantization_config");
    if (!q) return out;
    if (!q->is_object()) cfg.fail("quantization_config", "must be an object");
    JsonObject qc(*q, cfg.file() + ": quantization_config");
    const std::string method = qc.s("quant_method", "");
    if (method != "fp8")
        qc.fail("quant_method", "is \"" + method +
                                    "\"; hearth imports unquantized (F32/F16/BF16) and block-scaled \"fp8\" checkpoints only");
    const std::string fmt = qc.s("fmt", "e4m3");
    if (fmt == "e4m3") out.fmt = Fp8Format::kE4M3;
    else if (fmt == "e5m2") out.fmt = Fp8Format::kE5M2;
    else qc.fail("fmt", "is \"" + fmt + "\"; supported: e4m3, e5m2");
    const std::string act = qc.s("activation_scheme", "dynamic");
    // Static schemes come with per-layer input scales calibrated for FP8 activations; hearth
    // computes activations in float and would silently ignore them.
    if (act != "dynamic") qc.fail("activation_scheme", "is \"" + act + "\"; only \"dynamic\" is supported");
    const json* bs = qc.get("weight_block_size");
    if (!bs) qc.fail("weight_block_size", "is missing (per-tensor FP8 scales are not supported, only block scales)");
    if (!bs->is_array() || bs->size() != 2 || !(*bs)[0].is_number_integer() || !(*bs)[1].is_number_integer() ||
        (*bs)[0].get<int64_t>() <= 0 || (*bs)[1].get<int64_t>() <= 0)
        qc.fail("weight_block_size", "must be two positive integers [rows, cols], got " + bs->dump().substr(0, 40));
    out.block_rows = (*bs)[0].get<int64_t>();
    out.block_cols = (*bs)[1].get<int64_t>();
    out.present = true;
    return out;
}

bool is_fp8_dtype(const std::string& d) { return d == "F8_E4M3" || d == "F8_E5M2"; }

std::string fp8_scale_name(const std::string& weight_name) { return weight_name + "_scale_inv"; }

namespace {

// The scale tensor widened to float (real checkpoints store F32; some BF16).
std::vector<float> scales_as_float(const SafetensorsTensor& s) {
    std::vector<float> out(static_cast<size_t>(s.n_elements()));
    for (size_t i = 0; i < out.size(); ++i) {
        if (s.dtype == "F32") {
            std::memcpy(&out[i], s.data + 4 * i, 4);
        } else {
            uint16_t h;
            std::memcpy(&h, s.data + 2 * i, 2);
            out[i] = s.dtype == "BF16" ? quant::bf16_to_f32(h) : quant::fp16_to_f32(h);
        }
    }
    return out;
}

}  // namespace

std::shared_ptr<OwnedBuffer> dequantize_fp8_weight(const Fp8Config& fp8, const SafetensorsTensor& w,
                                                   const std::string& where_w, const SafetensorsTensor* scale,
                                                   const std::string& where_s) {
    if (!fp8.present)
        throw Error(where_w + " has dtype " + w.dtype +
                    " but config.json has no quantization_config describing its scales (expected "
                    "{\"quant_method\": \"fp8\", \"weight_block_size\": [128, 128], ...})");
    const Fp8Format f = w.dtype == "F8_E4M3" ? Fp8Format::kE4M3 : Fp8Format::kE5M2;
    if (f != fp8.fmt)
        throw Error(where_w + " has dtype " + w.dtype + " but quantization_config.fmt says " +
                    (fp8.fmt == Fp8Format::kE4M3 ? "e4m3" : "e5m2"));
    if (w.shape.size() != 2)
        throw Error(where_w + " is an FP8 tensor with " + std::to_string(w.shape.size()) +
                    " dimensions; block scales are defined for 2-D weights only");
    if (!scale) throw Error(where_w + " is stored as " + w.dtype + " but its scale tensor " + where_s + " is missing");
    if (scale->dtype != "F32" && scale->dtype != "BF16" && scale->dtype != "F16")
        throw Error(where_s + " has dtype " + scale->dtype + "; FP8 block scales must be F32, BF16 or F16");
    const int64_t rows = w.shape[0], cols = w.shape[1];
    Fp8BlockScales s;
    s.block_rows = fp8.block_rows;
    s.block_cols = fp8.block_cols;
    if (scale->shape.size() != 2) {
        throw Error(where_s + " has " + std::to_string(scale->shape.size()) +
                    " dimensions; a block scale tensor is 2-D [row blocks, column blocks]");
    }
    s.scale_rows = scale->shape[0];
    s.scale_cols = scale->shape[1];
    if (const std::string e = fp8_scale_shape_error(rows, cols, s); !e.empty()) throw Error(where_s + " " + e);
    const std::vector<float> sv = scales_as_float(*scale);
    for (float v : sv)
        if (!std::isfinite(v)) throw Error(where_s + " holds a non-finite scale");
    s.scale = sv.data();
    auto buf = std::make_shared<OwnedBuffer>(static_cast<size_t>(rows * cols) * 2);
    dequantize_fp8_blocks_to_bf16(f, w.data, rows, cols, s, reinterpret_cast<uint16_t*>(buf->data()));
    return buf;
}

}  // namespace hearth::format::hf
