#include "audit/known_templates.h"

namespace hearth::audit {

const std::vector<KnownTemplate>& known_templates() {
    static const std::vector<KnownTemplate> table = {
        {"qwen2.5", "Qwen2.5-Instruct / Qwen2.5-Coder-Instruct", "Qwen-Qwen2.5-7B-Instruct.jinja",
         "cd8e9439f0570856fd70470bf8889ebd8b5d1107207f67a5efb46e342330527f"},
        {"qwen3", "Qwen3", "Qwen-Qwen3-0.6B.jinja", "87a2728cb8dc9fe424d624542f6060ec05a1d285ebbec578bb078900e33396b5"},
        {"qwq", "QwQ-32B", "Qwen-QwQ-32B.jinja", "5ed15374ce53e19a7798710736a2c9fe41c79f7385e8421a2080d6575a80ef1b"},
        {"deepseek-r1", "DeepSeek-R1-Distill-Qwen", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
         "bbe594884b44d740667ee65a70bc8d333a565eab3d63ea59f291ea73ada84ba6"},
        {"deepseek-r1", "DeepSeek-R1-Distill-Llama", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
         "dd2675619a64a449cdcdd2b93e605a0a50764cee41e344f244752bc93643936c"},
        {"deepseek-v3", "DeepSeek-V3.1", "deepseek-ai-DeepSeek-V3.1.jinja",
         "d9f5f351b276cf9e81d009db08830db7d38e94927aecd09a7beb43e2aafee94e"},
        {"deepseek-v3", "DeepSeek-V3.2", "deepseek-ai-DeepSeek-V3.2.jinja",
         "8e5a13fcc4bdd4d943311fc59064b805770fdeddfccbd7f1c252cc16e8acaf3d"},
        {"kimi-k2", "Kimi-K2-Instruct", "moonshotai-Kimi-K2.jinja",
         "9fcc72b7c248a72020c81f70bb652f3094d18a750c93ca35dfcb3cf5fe23ff53"},
        {"kimi-k2", "Kimi-K2-Thinking", "Kimi-K2-Thinking.jinja",
         "2f6c593d50682612ccc3229f043ecd1bdeb5a32fdfe86ca2158203a61d885817"},
        {"glm-4", "GLM-4.5 / GLM-4.6", "GLM-4.6.jinja", "8804f445c761b9f259e3c1126a579d481a22ca09b2a3d32bcc4eb91bc36e0301"},
        {"llama-3", "Llama-3.1-Instruct", "meta-llama-Llama-3.1-8B-Instruct.jinja",
         "e10ca381b1ccc5cf9db52e371f3b6651576caee0a630b452e2816b2d404d4b65"},
        {"llama-3", "Llama-3.2-Instruct", "meta-llama-Llama-3.2-3B-Instruct.jinja",
         "5816fce10444e03c2e9ee1ef8a4a1ea61ae7e69e438613f3b17b69d0426223a4"},
        {"mistral", "Mistral-Nemo-Instruct-2407", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
         "e4676cb56dffea7782fd3e2b577cfaf1e123537e6ef49b3ec7caa6c095c62272"},
        {"mistral", "Mistral-Small-3.2-24B-Instruct-2506", "Mistral-Small-3.2-24B-Instruct-2506.jinja",
         "5b8f31f11198696548d544dbe424a3c1ef244d00a475f4e1bffb351fda085608"},
        {"smollm2", "SmolLM2-Instruct", "SmolLM2-135M-Instruct.gguf.jinja",
         "872be49dbb638044ad01b60388f48d469ff2980e5f0dccdc22ec907db54d0788"},
    };
    return table;
}

const KnownTemplate* find_known_template(std::string_view sha256_hex) {
    for (const auto& t : known_templates())
        if (t.sha256 == sha256_hex) return &t;
    return nullptr;
}

std::string guess_template_family(std::string_view s) {
    auto has = [&](std::string_view m) { return s.find(m) != std::string_view::npos; };
    if (has("<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>") || has("<\xEF\xBD\x9C" "User\xEF\xBD\x9C>")) {
        // V3.1 / V3.2 take a `thinking` variable; the R1 distills do not.
        const bool thinking_var = has("if thinking") || has("thinking is defined") || has("not thinking") ||
                                  has("thinking_mode");
        return thinking_var ? "deepseek-v3" : "deepseek-r1";
    }
    if (has("<|im_middle|>")) return "kimi-k2";
    if (has("[gMASK]")) return "glm-4";
    if (has("<|start_header_id|>")) return "llama-3";
    if (has("[INST]")) return "mistral";
    if (has("<|im_start|>")) {
        if (has("reasoning_content")) return "qwen3";
        if (has("<think>")) return "qwq";
        if (has("Qwen")) return "qwen2.5";
        if (has("SmolLM")) return "smollm2";
        return "chatml";
    }
    return "";
}

}  // namespace hearth::audit
