// hearth info: what a model file is, without running it.
#include <cinttypes>
#include <cstdio>
#include <map>

#include "cli/common.h"
#include "core/error.h"
#include "core/units.h"
#include "format/gguf.h"
#include "model/architecture.h"
#include "model/model.h"

namespace hearth::cli {
namespace {

void info(const std::string& path, bool all_keys) {
    auto f = format::GGUFFile::open(path);
    const std::string arch = f->get_string("general.architecture", "?");
    std::printf("file:          %s (%s, %s)\n", path.c_str(), human_bytes(static_cast<double>(f->file_size())).c_str(),
                f->source_format().c_str());
    std::printf("name:          %s\n", f->get_string("general.name", "?").c_str());
    const model::ArchSpec* spec = model::find_arch(arch);
    std::printf("architecture:  %s%s\n", arch.c_str(),
                spec ? (std::string(" (") + spec->family + ")").c_str() : " (not supported by this hearth)");

    uint64_t n_params = 0;
    std::map<std::string, std::pair<uint64_t, uint64_t>> mix;  // dtype -> (tensors, bytes)
    for (const auto& t : f->tensors()) {
        n_params += static_cast<uint64_t>(t.n_elements());
        auto& e = mix[std::string(dtype_name(t.dtype))];
        e.first++;
        e.second += t.nbytes;
    }
    std::printf("parameters:    %s (%" PRIu64 ")\n", human_count(static_cast<double>(n_params)).c_str(), n_params);
    std::printf("tensors:       %zu; quant mix:", f->tensors().size());
    for (const auto& [name, e] : mix)
        std::printf(" %s x%" PRIu64 " (%s)", name.c_str(), e.first, human_bytes(static_cast<double>(e.second)).c_str());
    std::printf("\n");
    if (spec) {
        model::HParams hp = model::read_hparams(*f, *spec);
        std::printf("context:       %" PRId64 " tokens (trained)\n", hp.n_ctx_train);
        std::printf("layers:        %" PRId64 ", width %" PRId64 ", ffn %" PRId64 "\n", hp.n_layer, hp.n_embd, hp.n_ff);
        if (hp.mla) {
            std::printf("attention:     MLA, %" PRId64 " heads, head dim %" PRId64 " (%" PRId64 " nope + %" PRId64
                        " rope) / v %" PRId64 ", kv_lora_rank %" PRId64 ", q_lora_rank %s\n",
                        hp.n_head, hp.head_dim_k, hp.qk_nope, hp.rope_dims, hp.head_dim_v, hp.kv_lora_rank,
                        hp.q_lora_rank > 0 ? std::to_string(hp.q_lora_rank).c_str() : "none");
        } else {
            std::printf("attention:     %" PRId64 " heads, %" PRId64 " kv heads (GQA %" PRId64 "), head dim %" PRId64
                        "/%" PRId64 "\n",
                        hp.n_head, hp.n_head_kv, hp.n_head / hp.n_head_kv, hp.head_dim_k, hp.head_dim_v);
        }
        if (hp.moe()) {
            const uint64_t active = model::count_active_params(*f, hp);
            std::printf("experts:       %" PRId64 " routed (%" PRId64 " per token, width %" PRId64 "), %" PRId64
                        " shared, %" PRId64 " leading dense blocks; %s scores%s%s, scale %g\n",
                        hp.n_expert, hp.n_expert_used, hp.n_ff_exp, hp.n_expert_shared, hp.n_layer_dense_lead,
                        hp.expert_gating == model::ExpertGating::kSigmoid ? "sigmoid" : "softmax",
                        hp.n_expert_groups > 1 ? (", groups " + std::to_string(hp.n_group_used) + " of " +
                                                  std::to_string(hp.n_expert_groups)).c_str()
                                               : "",
                        hp.expert_weights_norm ? ", top-k renormalised" : "",
                        static_cast<double>(hp.expert_weights_scale));
            std::printf("active params: %s per token (%" PRIu64 ")\n", human_count(static_cast<double>(active)).c_str(),
                        active);
        }
        if (hp.n_nextn > 0)
            std::printf("MTP blocks:    %" PRId64 " (nextn_predict_layers; stored, not run)\n", hp.n_nextn);
        std::string scaling;
        if (hp.rope_scaling == model::RopeScaling::kLinear) scaling = ", linear scaling";
        if (hp.rope_scaling == model::RopeScaling::kYarn) {
            char buf[96];
            std::snprintf(buf, sizeof buf, ", YaRN x%g from %" PRId64 " (mscale %g)", static_cast<double>(hp.rope_scale_factor),
                          hp.yarn_orig_ctx, static_cast<double>(hp.yarn_mscale()));
            scaling = buf;
        }
        std::printf("rope:          %s, base %g, %" PRId64 " dims%s\n",
                    hp.rope_style == model::RopeStyle::kNeox ? "neox" : "normal", static_cast<double>(hp.rope_base),
                    hp.rope_dims, scaling.c_str());
        std::printf("norm eps:      %g\n", static_cast<double>(hp.rms_eps));
        const uint64_t kv_f16 = hp.kv_bytes_per_token(2);
        std::printf("KV cache:      %" PRIu64 " bytes/token at F16 (%s at 4096 tokens)%s\n", kv_f16,
                    human_bytes(static_cast<double>(kv_f16) * 4096).c_str(),
                    hp.mla ? "; MLA latent: (kv_lora_rank + rope dims) x layers x 2" : "");
    }
    std::printf("tokenizer:     %s, pre %s, %zu tokens\n", f->get_string("tokenizer.ggml.model", "?").c_str(),
                f->get_string("tokenizer.ggml.pre", "default").c_str(),
                f->has("tokenizer.ggml.tokens") ? f->find("tokenizer.ggml.tokens")->as_array().size() : size_t{0});
    std::printf("chat template: %s\n", f->has("tokenizer.chat_template") ? "yes" : "no");
    std::printf("metadata:\n");
    for (const auto& [k, v] : f->metadata()) {
        if (!all_keys && (k.rfind("tokenizer.ggml.", 0) == 0 || k == "tokenizer.chat_template")) continue;
        std::printf("  %-44s %s\n", k.c_str(), v.to_display(all_keys ? 16 : 4).c_str());
    }
}

}  // namespace

void register_info(CLI::App& app) {
    auto path = std::make_shared<std::string>();
    auto all = std::make_shared<bool>(false);
    CLI::App* sub = app.add_subcommand("info", "show a model file's architecture, size, quant mix and metadata");
    sub->add_option("file", *path, "GGUF model file")->required();
    sub->add_flag("-a,--all", *all, "also show tokenizer arrays and the chat template");
    sub->callback([path, all] { info(*path, *all); });
}

}  // namespace hearth::cli
