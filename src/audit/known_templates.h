#pragma once
// Chat templates hearth knows by hash, and a marker-based guess at a template's family for
// templates it does not know. The hashes are SHA-256 of the template text's exact UTF-8
// bytes (as stored in tokenizer.chat_template), computed from the files in
// tests/fixtures/chat/templates/ (see SOURCES.md there); tests/unit/test_audit_passport.cpp
// recomputes every one of them from those files.
//
// | family            | model                                   | fixture file                                        | SHA-256 (first 16 hex) |
// |-------------------|-----------------------------------------|-----------------------------------------------------|------------------------|
// | qwen2.5           | Qwen2.5-Instruct / Qwen2.5-Coder-Instruct | Qwen-Qwen2.5-7B-Instruct.jinja (= default model's)  | cd8e9439f0570856       |
// | qwen3             | Qwen3                                   | Qwen-Qwen3-0.6B.jinja                               | 87a2728cb8dc9fe4       |
// | qwq               | QwQ-32B                                 | Qwen-QwQ-32B.jinja                                  | 5ed15374ce53e19a       |
// | deepseek-r1       | DeepSeek-R1-Distill-Qwen                | deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja      | bbe594884b44d740       |
// | deepseek-r1       | DeepSeek-R1-Distill-Llama               | deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja      | dd2675619a64a449       |
// | deepseek-v3       | DeepSeek-V3.1                           | deepseek-ai-DeepSeek-V3.1.jinja                     | d9f5f351b276cf9e       |
// | deepseek-v3       | DeepSeek-V3.2                           | deepseek-ai-DeepSeek-V3.2.jinja                     | 8e5a13fcc4bdd4d9       |
// | kimi-k2           | Kimi-K2-Instruct                        | moonshotai-Kimi-K2.jinja                            | 9fcc72b7c248a720       |
// | kimi-k2           | Kimi-K2-Thinking                        | Kimi-K2-Thinking.jinja                              | 2f6c593d50682612       |
// | glm-4             | GLM-4.5 / GLM-4.6                       | GLM-4.6.jinja                                       | 8804f445c761b9f2       |
// | llama-3           | Llama-3.1-Instruct                      | meta-llama-Llama-3.1-8B-Instruct.jinja              | e10ca381b1ccc5cf       |
// | llama-3           | Llama-3.2-Instruct                      | meta-llama-Llama-3.2-3B-Instruct.jinja              | 5816fce10444e03c       |
// | mistral           | Mistral-Nemo-Instruct-2407              | mistralai-Mistral-Nemo-Instruct-2407.jinja          | e4676cb56dffea77       |
// | mistral           | Mistral-Small-3.2-24B-Instruct-2506     | Mistral-Small-3.2-24B-Instruct-2506.jinja           | 5b8f31f111986965       |
// | smollm2 (chatml)  | SmolLM2-Instruct                        | SmolLM2-135M-Instruct.gguf.jinja                    | 872be49dbb638044       |
#include <string>
#include <string_view>
#include <vector>

namespace hearth::audit {

struct KnownTemplate {
    std::string_view family;   // "qwen2.5", "llama-3", ...
    std::string_view model;    // the model the template ships with
    std::string_view fixture;  // file name under tests/fixtures/chat/templates/
    std::string_view sha256;   // full hex digest
};

const std::vector<KnownTemplate>& known_templates();

// The entry whose hash equals sha256_hex, or nullptr.
const KnownTemplate* find_known_template(std::string_view sha256_hex);

// A family guessed from markers in the template text ("chatml" for a generic ChatML
// template); "" when nothing is recognised.
std::string guess_template_family(std::string_view source);

}  // namespace hearth::audit
