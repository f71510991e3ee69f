#pragma once
// `hearth quantize IN OUT TYPE`: a GGUF file in, a GGUF file out with its weights re-encoded.
// Lives in quant/ rather than model/ because it never builds a model: it needs the GGUF
// reader and writer, the weight quantizers and a handful of metadata keys, nothing more.
//
// Which tensor gets which type follows llama.cpp's llama-quant.cpp, so a hearth Q4_K_M is the
// same mix as a llama.cpp Q4_K_M of the same model:
//   - only weights with 2+ dimensions are re-encoded; norms, biases, 1-D tensors and the MoE
//     router (ffn_gate_inp) are copied unchanged;
//   - output.weight (token_embd.weight when the embedding is tied) gets Q6_K, or Q8_0 when its
//     rows do not fit 256-element blocks (Q8_0 files keep Q8_0);
//   - Q4_K_M / Q5_K_M: attn_v (and MLA's attn_kv_b) and ffn_down get Q6_K in the first and
//     last eighth of the layers and every third layer between ("use_more_bits");
//   - Q4_K_S: the first 4 attn_v and the ffn_down of the first eighth of the layers get Q5_K;
//     Q5_K_S: every weight Q5_K (output Q6_K);
//   - Q4_K and Q5_K are llama-quantize's aliases of Q4_K_M and Q5_K_M (same recipe, same
//     general.file_type), so a name means the same file in both tools;
//   - 8-expert MoE models: attn_v and attn_k Q8_0, attn_output Q5_K (Q4_K_S / Q4_K_M);
//   - a K-quant whose row length is not a multiple of 256 falls back to Q4_K -> Q5_0,
//     Q5_K -> Q5_1, Q6_K -> Q8_0; any type whose block does not fit falls back to F16.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "format/gguf.h"

namespace hearth::quant {

// Which of llama.cpp's per-tensor adjustments a file type applies on top of its base type.
enum class KMix {
    None,   // every weight the base type (output Q6_K for quantized bases)
    Small,  // the _S recipe: Q5_K for the first attn_v and the first eighth of ffn_down
    Medium  // the _M recipe: Q6_K for attn_v / ffn_down in the use_more_bits layers
};

struct FileTypeSpec {
    std::string_view name;  // as given on the command line, e.g. "Q4_K_M"
    uint32_t llama_ftype;   // general.file_type, numbered as llama.cpp's llama_ftype
    DType base;             // the type of most weights
    KMix mix;
    std::string_view help;
};

const std::vector<FileTypeSpec>& file_types();
// Case-insensitive; nullptr when unknown.
const FileTypeSpec* find_file_type(std::string_view name);

struct TensorPlan {
    std::string name;
    DType from = DType::F32;
    DType to = DType::F32;
    bool convert = false;   // false: bytes copied as they are
    bool fallback = false;  // `to` is a fallback because the row length does not fit the wanted type
    DType wanted = DType::F32;
};

// Chooses each tensor's output type. Throws hearth::Error naming the file and tensor when a
// tensor that needs converting is already quantized and allow_requantize is off, or its type
// cannot be read.
std::vector<TensorPlan> plan_quantization(const format::GGUFFile& in, const FileTypeSpec& ft, bool allow_requantize);

struct QuantizeOptions {
    int threads = 0;  // 0: all hardware threads
    bool allow_requantize = false;
    bool progress = true;
    std::function<void(const std::string&)> warn;  // requantizing and fallback notices; may be empty
};

struct QuantizeReport {
    std::vector<TensorPlan> plan;
    struct Totals {
        uint64_t tensors = 0;
        uint64_t bytes = 0;
    };
    std::map<std::string, Totals> by_type;  // output tensor types
    uint64_t input_file_bytes = 0;
    uint64_t output_file_bytes = 0;
    double seconds = 0;
};

// Reads `in`, writes `out` (through out.tmp renamed at the end, so a failure never leaves a
// partial file). Quantized tensors are held in memory until the write (about the size of the
// output file); copied tensors are written straight from the input's mapping.
QuantizeReport quantize_file(const std::string& in, const std::string& out, const FileTypeSpec& ft,
                             const QuantizeOptions& o);

}  // namespace hearth::quant
