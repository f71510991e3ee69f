#include "quant/quantize_file.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "format/gguf_writer.h"
#include "quant/quant.h"
#include "quant/quantize_weights.h"

namespace hearth::quant {
namespace {

// The quantization format generation llama.cpp writes (GGML_QNT_VERSION).
constexpr uint32_t kQuantizationVersion = 2;

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

enum class Category { TokenEmbd, Output, AttnV, AttnK, AttnOutput, FfnDown, Other };

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Category category(const std::string& name) {
    if (name == "output.weight") return Category::Output;
    if (name == "token_embd.weight") return Category::TokenEmbd;
    // Tensors that play the value projection's role (fused QKV, MLA's kv_b) count as attn_v.
    if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight"))
        return Category::AttnV;
    if (contains(name, "attn_k.weight")) return Category::AttnK;
    if (contains(name, "attn_output.weight")) return Category::AttnOutput;
    if (contains(name, "ffn_down")) return Category::FfnDown;
    return Category::Other;
}

// -1 for tensors outside the blocks.
int layer_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    size_t i = 4;
    int v = 0;
    bool any = false;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9' && v < 1000000) {
        v = v * 10 + (name[i] - '0');
        ++i;
        any = true;
    }
    return any && i < name.size() && name[i] == '.' ? v : -1;
}

// ggml counts dimensions without the trailing ones: a [n, 1] tensor is a vector.
int n_dims(const format::TensorInfo& t) {
    int n = static_cast<int>(t.shape.size());
    while (n > 1 && t.shape[static_cast<size_t>(n - 1)] == 1) --n;
    return n;
}

bool may_convert(const format::TensorInfo& t) {
    if (n_dims(t) < 2) return false;
    if (!ends_with(t.name, "weight")) return false;
    if (contains(t.name, "_norm.weight")) return false;
    if (contains(t.name, "ffn_gate_inp.weight")) return false;  // the MoE router stays exact
    return true;
}

// First and last eighth of the layers, and every third layer between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

DType k_fallback(DType t) {
    switch (t) {
        case DType::Q4_K: return DType::Q5_0;
        case DType::Q5_K: return DType::Q5_1;
        case DType::Q6_K: return DType::Q8_0;
        default: return DType::F16;
    }
}

int64_t key_int(const format::GGUFFile& f, const std::string& key, int64_t def) {
    const format::GGUFValue* v = f.find(key);
    return v && v->is_int() ? v->as_int(key) : def;
}

}  // namespace

const std::vector<FileTypeSpec>& file_types() {
    static const std::vector<FileTypeSpec> types = {
        {"Q4_K_M", 15, DType::Q4_K, KMix::Medium, "Q4_K, with Q6_K for output and half of attn_v / ffn_down (llama.cpp's mix)"},
        {"Q4_K_S", 14, DType::Q4_K, KMix::Small, "Q4_K, with Q6_K for output, Q5_K for the first attn_v / ffn_down"},
        {"Q4_K", 15, DType::Q4_K, KMix::Medium, "alias for Q4_K_M (as in llama-quantize)"},
        {"Q5_K_M", 17, DType::Q5_K, KMix::Medium, "Q5_K, with Q6_K for output and half of attn_v / ffn_down (llama.cpp's mix)"},
        {"Q5_K_S", 16, DType::Q5_K, KMix::None, "every weight Q5_K, output Q6_K"},
        {"Q5_K", 17, DType::Q5_K, KMix::Medium, "alias for Q5_K_M (as in llama-quantize)"},
        {"Q6_K", 18, DType::Q6_K, KMix::None, "every weight Q6_K"},
        {"Q8_0", 7, DType::Q8_0, KMix::None, "every weight Q8_0"},
        {"Q4_0", 2, DType::Q4_0, KMix::None, "every weight Q4_0, output Q6_K"},
        {"Q4_1", 3, DType::Q4_1, KMix::None, "every weight Q4_1, output Q6_K"},
        {"Q5_0", 8, DType::Q5_0, KMix::None, "every weight Q5_0, output Q6_K"},
        {"Q5_1", 9, DType::Q5_1, KMix::None, "every weight Q5_1, output Q6_K"},
        {"F16", 1, DType::F16, KMix::None, "every weight F16"},
        {"BF16", 32, DType::BF16, KMix::None, "every weight BF16"},
        {"F32", 0, DType::F32, KMix::None, "every weight F32 (with --allow-requantize: dequantize a file)"},
    };
    return types;
}

const FileTypeSpec* find_file_type(std::string_view name) {
    for (const FileTypeSpec& t : file_types()) {
        if (t.name.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i)
            same = std::toupper(static_cast<unsigned char>(name[i])) == static_cast<unsigned char>(t.name[i]);
        if (same) return &t;
    }
    return nullptr;
}

std::vector<TensorPlan> plan_quantization(const format::GGUFFile& in, const FileTypeSpec& ft, bool allow_requantize) {
    const auto& tensors = in.tensors();
    const std::string arch = in.get_string("general.architecture", "");
    const int64_t n_expert = arch.empty() ? 0 : key_int(in, arch + ".expert_count", 0);
    const bool quantized_base = !is_float(ft.base);
    const uint32_t base_block = dtype_info(ft.base).block_elems;

    // llama.cpp walks tensors ordered by layer number, then name; its attn_v / ffn_down
    // counters are positions in that order.
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
        return la != lb ? la < lb : tensors[a].name < tensors[b].name;
    });
    bool tied = true;
    int n_attn_v = 0, n_ffn_down = 0;
    for (const auto& t : tensors) {
        const Category c = category(t.name);
        if (c == Category::Output) tied = false;
        if (c == Category::AttnV && may_convert(t)) ++n_attn_v;
        if (c == Category::FfnDown && may_convert(t)) ++n_ffn_down;
    }
    const int64_t block_count = arch.empty() ? 0 : key_int(in, arch + ".block_count", 0);
    const int n_layer = block_count > 0 ? static_cast<int>(block_count) : n_ffn_down;

    std::vector<TensorPlan> plan(tensors.size());
    int i_attn_v = 0, i_ffn_down = 0;
    for (size_t idx : order) {
        const format::TensorInfo& t = tensors[idx];
        TensorPlan& p = plan[idx];
        p.name = t.name;
        p.from = t.dtype;
        p.to = t.dtype;
        p.wanted = t.dtype;
        if (!may_convert(t)) continue;
        const Category c = category(t.name);
        DType to = ft.base;
        if (quantized_base) {
            if (c == Category::Output || (tied && c == Category::TokenEmbd)) {
                if (t.shape[0] % base_block != 0) to = DType::Q8_0;
                else if (ft.base != DType::Q8_0) to = DType::Q6_K;
            } else if (c == Category::AttnV) {
                if (ft.mix == KMix::Medium && use_more_bits(i_attn_v, n_attn_v)) to = DType::Q6_K;
                if (ft.mix == KMix::Small && i_attn_v < 4) to = DType::Q5_K;
                if (n_expert == 8) to = DType::Q8_0;
                ++i_attn_v;
            } else if (c == Category::AttnK) {
                if (n_expert == 8) to = DType::Q8_0;
            } else if (c == Category::AttnOutput) {
                if (n_expert == 8 && ft.base == DType::Q4_K) to = DType::Q5_K;
            } else if (c == Category::FfnDown) {
                // MoE files interleave expert and shared-expert tensors: use the layer number.
                const int layer = n_expert > 1 ? layer_of(t.name) : i_ffn_down;
                if (ft.mix == KMix::Medium && layer >= 0 && use_more_bits(layer, n_layer)) to = DType::Q6_K;
                if (ft.mix == KMix::Small && layer >= 0 && layer < n_layer / 8) to = DType::Q5_K;
                ++i_ffn_down;
            }
        }
        p.wanted = to;
        const uint32_t block = dtype_info(to).block_elems;
        if (t.shape[0] % block != 0) {
            to = k_fallback(to);
            if (t.shape[0] % dtype_info(to).block_elems != 0) to = DType::F16;
            p.fallback = true;
        }
        p.to = to;
        if (p.to == p.from) continue;  // already the wanted type: copy, lossless
        p.convert = true;
        const DTypeInfo& src = dtype_info(t.dtype);
        if (!src.supported)
            throw Error(in.path() + ": tensor " + t.name + " has type " + std::string(src.name) +
                        ", which hearth cannot read, so it cannot be converted to " + std::string(dtype_name(p.to)));
        if (!is_float(t.dtype) && !allow_requantize)
            throw Error(in.path() + ": tensor " + t.name + " is already quantized (" + std::string(src.name) +
                        "); converting it to " + std::string(dtype_name(p.to)) +
                        " would quantize twice and lose accuracy. Start from an F32/F16/BF16 file, or pass "
                        "--allow-requantize to do it anyway");
    }
    return plan;
}

QuantizeReport quantize_file(const std::string& in_path, const std::string& out_path, const FileTypeSpec& ft,
                             const QuantizeOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    auto in = format::GGUFFile::open(in_path);
    QuantizeReport rep;
    rep.plan = plan_quantization(*in, ft, o.allow_requantize);
    rep.input_file_bytes = in->file_size();
    const auto& tensors = in->tensors();

    auto warn = [&](const std::string& s) {
        if (o.warn) o.warn(s);
    };
    // Say once, with the types involved, that quantized inputs are dequantized first.
    std::map<std::string, int> requant, fallbacks;
    for (const TensorPlan& p : rep.plan) {
        if (p.convert && !is_float(p.from)) requant[std::string(dtype_name(p.from))]++;
        if (p.fallback)
            fallbacks[std::string(dtype_name(p.wanted)) + " -> " + std::string(dtype_name(p.to))]++;
    }
    if (!requant.empty()) {
        std::string s = "requantizing already-quantized tensors (dequantized to F32 first; errors add up):";
        for (const auto& [k, n] : requant) s += " " + k + " x" + std::to_string(n);
        warn(s);
    }
    if (!fallbacks.empty()) {
        std::string s = "row length does not fit the wanted type's block, fell back:";
        for (const auto& [k, n] : fallbacks) s += " " + k + " x" + std::to_string(n);
        warn(s);
    }

    format::GGUFWriter w(3);
    for (const auto& [key, value] : in->metadata()) {
        if (key == "general.file_type" || key == "general.quantization_version") continue;
        if (key == "split.no" || key == "split.count" || key == "split.tensors.count") continue;
        w.add(key, value);
    }
    w.add_u32("general.quantization_version", kQuantizationVersion);
    w.add_u32("general.file_type", ft.llama_ftype);

    uint64_t total = 0;
    for (size_t i = 0; i < tensors.size(); ++i)
        if (rep.plan[i].convert) total += static_cast<uint64_t>(tensors[i].n_elements());
    ThreadPool pool(o.threads > 0 ? o.threads : hardware_threads());
    Progress progress("quantizing", total);
    uint64_t done = 0;
    std::vector<std::vector<uint8_t>> outputs(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const format::TensorInfo& t = tensors[i];
        const TensorPlan& p = rep.plan[i];
        if (!p.convert) {
            w.add_tensor_ref(t.name, t.dtype, t.shape, t.data, static_cast<size_t>(t.nbytes));
            continue;
        }
        const int64_t ncols = t.shape[0], nrows = t.rows();
        const size_t in_row = dtype_row_bytes(t.dtype, ncols), out_row = dtype_row_bytes(p.to, ncols);
        std::vector<uint8_t>& out = outputs[i];
        out.resize(out_row * static_cast<size_t>(nrows));
        std::mutex mu;
        std::string first_error;
        pool.parallel_for(nrows, [&](int64_t r0, int64_t r1) {
            std::vector<float> buf(static_cast<size_t>(ncols));
            for (int64_t r = r0; r < r1; ++r) {
                try {
                    const uint8_t* src = t.data + static_cast<size_t>(r) * in_row;
                    const float* x = reinterpret_cast<const float*>(src);
                    if (t.dtype != DType::F32) {
                        dequantize_row(t.dtype, src, buf.data(), ncols);
                        x = buf.data();
                    } else if (reinterpret_cast<uintptr_t>(src) % alignof(float) != 0) {
                        std::memcpy(buf.data(), src, in_row);
                        x = buf.data();
                    }
                    quantize_weight_row(p.to, x, out.data() + static_cast<size_t>(r) * out_row, ncols);
                } catch (const std::exception& e) {
                    std::lock_guard<std::mutex> lock(mu);
                    if (first_error.empty()) first_error = "row " + std::to_string(r) + ": " + e.what();
                    return;
                }
            }
        });
        if (!first_error.empty())
            throw Error(in_path + ": tensor " + t.name + " (" + std::string(dtype_name(t.dtype)) + " -> " +
                        std::string(dtype_name(p.to)) + "), " + first_error);
        w.add_tensor_ref(t.name, p.to, t.shape, out.data(), out.size());
        done += static_cast<uint64_t>(t.n_elements());
        if (o.progress) progress.update(done);
    }
    progress.finish();
    w.write_file(out_path);

    for (size_t i = 0; i < tensors.size(); ++i) {
        auto& e = rep.by_type[std::string(dtype_name(rep.plan[i].to))];
        e.tensors++;
        e.bytes += rep.plan[i].convert ? outputs[i].size() : tensors[i].nbytes;
    }
    std::error_code ec;
    rep.output_file_bytes = static_cast<uint64_t>(std::filesystem::file_size(out_path, ec));
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace hearth::quant
