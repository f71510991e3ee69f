// Helper for tools/gen_tiny_moe_llamacpp.py, built by that script against a llama.cpp build
// (never part of hearth's own build). For one GGUF file and a list of prompts (token ids) it
// runs llama.cpp on the CPU, one thread, F32 KV cache, no flash attention, a fresh context per
// prompt, and prints one JSON object:
//   {"prompts": [{"prompt": [...], "greedy": [...], "step_logits": [[...], ...],
//                 "routing": [{"layer": L, "positions": [...], "logits": [[...] per row],
//                              "topk": [[...] per row]}]}]}
// greedy[k] is the argmax of step_logits[k]; step 0 is the last prompt position, step k > 0
// the position after feeding greedy[k-1]. routing holds, for every position fed (the prompt,
// then greedy[0 .. N_GEN-2]), each MoE layer's router logits ("ffn_moe_logits-L") and the experts
// llama.cpp chose ("ffn_moe_topk-L"), taken with the graph's eval callback, so a routing
// difference can be pinned to a position and a layer.
//
//   gen_tiny_moe_llamacpp MODEL.gguf N_GEN IDS [IDS ...]    (IDS = comma-separated token ids)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

namespace {

struct Capture {
    int64_t pos0 = 0, n_fed = 0;  // the llama_decode call under way: first position, tokens
    std::map<int, std::vector<int64_t>> positions;  // layer -> the position of each row below
    std::map<int, std::vector<std::vector<float>>> logits;  // layer -> per token
    std::map<int, std::vector<std::vector<int>>> topk;
};

bool parse_layer(const char* name, const char* prefix, int* layer) {
    const size_t n = std::strlen(prefix);
    if (std::strncmp(name, prefix, n) != 0) return false;
    char* end = nullptr;
    const long v = std::strtol(name + n, &end, 10);
    if (end == name + n || *end != '\0') return false;
    *layer = static_cast<int>(v);
    return true;
}

// Reads a 2-D tensor (ne0 values per row, ne1 rows) through its strides: the top-k result is a
// view of the argsort, not contiguous.
template <typename T>
std::vector<std::vector<T>> read_rows(const ggml_tensor* t) {
    std::vector<std::vector<T>> rows(static_cast<size_t>(t->ne[1]));
    const char* base = static_cast<const char*>(t->data);
    for (int64_t j = 0; j < t->ne[1]; ++j)
        for (int64_t i = 0; i < t->ne[0]; ++i) {
            T v;
            std::memcpy(&v, base + i * t->nb[0] + j * t->nb[1], sizeof v);
            rows[static_cast<size_t>(j)].push_back(v);
        }
    return rows;
}

bool eval_cb(ggml_tensor* t, bool ask, void* user) {
    auto* cap = static_cast<Capture*>(user);
    int layer = 0;
    const bool is_logits = parse_layer(t->name, "ffn_moe_logits-", &layer);
    const bool is_topk = !is_logits && parse_layer(t->name, "ffn_moe_topk-", &layer);
    if (ask) return is_logits || is_topk;
    if (!(is_logits || is_topk)) return true;
    if (!ggml_backend_buffer_is_host(t->buffer)) {
        std::fprintf(stderr, "tensor %s is not in host memory\n", t->name);
        std::exit(1);
    }
    // Appended call after call. A layer has a row per token fed, except the last layer, which
    // llama.cpp runs for the output row only (the last token of the call).
    if (is_logits && t->type == GGML_TYPE_F32) {
        auto rows = read_rows<float>(t);
        cap->logits[layer].insert(cap->logits[layer].end(), rows.begin(), rows.end());
        const int64_t n = static_cast<int64_t>(rows.size());
        if (n != cap->n_fed && n != 1) {
            std::fprintf(stderr, "%s: %lld rows for %lld tokens\n", t->name, static_cast<long long>(n),
                         static_cast<long long>(cap->n_fed));
            std::exit(1);
        }
        for (int64_t i = 0; i < n; ++i) cap->positions[layer].push_back(cap->pos0 + cap->n_fed - n + i);
    }
    if (is_topk && t->type == GGML_TYPE_I32) {
        auto rows = read_rows<int>(t);
        cap->topk[layer].insert(cap->topk[layer].end(), rows.begin(), rows.end());
    }
    return true;
}

std::vector<llama_token> parse_ids(const char* s) {
    std::vector<llama_token> ids;
    for (const char* p = s; *p;) {
        char* end = nullptr;
        ids.push_back(static_cast<llama_token>(std::strtol(p, &end, 10)));
        if (end == p) break;
        p = *end == ',' ? end + 1 : end;
    }
    return ids;
}

void print_floats(const float* v, int n) {
    std::printf("[");
    for (int i = 0; i < n; ++i) std::printf("%s%.9g", i ? "," : "", static_cast<double>(v[i]));
    std::printf("]");
}

void silent_log(ggml_log_level level, const char* text, void*) {
    if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL.gguf N_GEN IDS [IDS ...]\n", argv[0]);
        return 2;
    }
    if (!std::getenv("HEARTH_LLAMA_VERBOSE")) llama_log_set(silent_log, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model* model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        std::fprintf(stderr, "llama.cpp could not load %s\n", argv[1]);
        return 3;
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    const int n_gen = std::atoi(argv[2]);
    std::printf("{\"n_vocab\":%d,\"prompts\":[", n_vocab);
    for (int a = 3; a < argc; ++a) {
        std::vector<llama_token> ids = parse_ids(argv[a]);
        Capture cap;
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 128;
        cp.n_batch = 64;
        cp.n_ubatch = 64;
        cp.n_threads = 1;
        cp.n_threads_batch = 1;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
        cp.cb_eval = eval_cb;
        cp.cb_eval_user_data = &cap;
        llama_context* ctx = llama_init_from_model(model, cp);
        if (!ctx) {
            std::fprintf(stderr, "llama.cpp could not create a context for %s\n", argv[1]);
            return 4;
        }
        std::vector<llama_token> greedy;
        std::vector<std::vector<float>> step_logits;
        std::vector<llama_token> feed = ids;
        for (int step = 0; step < n_gen; ++step) {
            cap.pos0 = step == 0 ? 0 : static_cast<int64_t>(ids.size()) + step - 1;
            cap.n_fed = static_cast<int64_t>(feed.size());
            if (llama_decode(ctx, llama_batch_get_one(feed.data(), static_cast<int32_t>(feed.size()))) != 0) {
                std::fprintf(stderr, "llama_decode failed at step %d\n", step);
                return 5;
            }
            const float* l = llama_get_logits_ith(ctx, -1);
            step_logits.emplace_back(l, l + n_vocab);
            int best = 0;
            for (int i = 1; i < n_vocab; ++i)
                if (l[i] > l[best]) best = i;
            greedy.push_back(best);
            feed.assign(1, best);
        }
        std::printf("%s{\"prompt\":[", a > 3 ? "," : "");
        for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? "," : "", ids[i]);
        std::printf("],\"greedy\":[");
        for (size_t i = 0; i < greedy.size(); ++i) std::printf("%s%d", i ? "," : "", greedy[i]);
        std::printf("],\"step_logits\":[");
        for (size_t i = 0; i < step_logits.size(); ++i) {
            if (i) std::printf(",");
            print_floats(step_logits[i].data(), n_vocab);
        }
        std::printf("],\"routing\":[");
        bool first = true;
        for (const auto& [layer, rows] : cap.logits) {
            std::printf("%s{\"layer\":%d,\"positions\":[", first ? "" : ",", layer);
            first = false;
            const auto& pos = cap.positions[layer];
            for (size_t t = 0; t < pos.size(); ++t) std::printf("%s%lld", t ? "," : "", static_cast<long long>(pos[t]));
            std::printf("],\"logits\":[");
            for (size_t t = 0; t < rows.size(); ++t) {
                if (t) std::printf(",");
                print_floats(rows[t].data(), static_cast<int>(rows[t].size()));
            }
            std::printf("],\"topk\":[");
            const auto& tk = cap.topk[layer];
            for (size_t t = 0; t < tk.size(); ++t) {
                std::printf("%s[", t ? "," : "");
                for (size_t k = 0; k < tk[t].size(); ++k) std::printf("%s%d", k ? "," : "", tk[t][k]);
                std::printf("]");
            }
            std::printf("]}");
        }
        std::printf("]}");
        llama_free(ctx);
    }
    std::printf("]}\n");
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
