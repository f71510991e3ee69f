#pragma once
// Imports a Hugging Face model directory (config.json, model.safetensors or sharded
// model-*.safetensors with model.safetensors.index.json, tokenizer.json,
// tokenizer_config.json) as the GGUF view the rest of hearth reads: metadata under the GGUF
// keys llama.cpp's converter would write, tensors under GGUF names and layouts.
//
// Weights stay in the mapped safetensors files except where the GGUF layout differs:
//   - llama q/k projections: rows permuted as the GGUF converter does (the `llama` rope pairs
//     adjacent rows), copied into memory: (n_head + n_head_kv) * head_dim * n_embd elements per
//     layer (Llama-3-8B in BF16: 40 MiB per layer, 1.25 GiB in all);
//   - routed experts (one HF tensor per expert) are stacked into [E, rows, cols] tensors, copied
//     into memory: the whole routed-expert weight, i.e. most of an MoE model;
//   - tensors whose bytes are not aligned to their element size are copied (rare);
//   - llama3 rope scaling becomes a computed rope_freqs.weight, as the converter writes it.
//   - FP8 weights (F8_E4M3/F8_E5M2 with 128x128 block scales, config.json quantization_config
//     quant_method "fp8") are dequantized into BF16 buffers (see hf_fp8.h): 2 bytes per weight
//     in memory against 1 in the file.
// DeepSeek's kv_b_proj is kept whole (GGUF attn_kv_b.weight, which the model accepts),
// and multi-token-prediction layers (index >= num_hidden_layers) are not imported.
#include <memory>
#include <string>

namespace hearth::format {

class GGUFFile;

// Throws hearth::Error naming the file and field on anything missing, malformed or unsupported.
std::unique_ptr<GGUFFile> import_hf_directory(const std::string& dir);

}  // namespace hearth::format
