// hearth chat: an interactive conversation in the terminal.
// Until the chat layer renders the model's own Jinja template, conversations use the
// ChatML markup when the vocabulary has it (Qwen, SmolLM) and a plain "User:/Assistant:"
// transcript otherwise.
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::cli {
namespace {

struct ChatOptions {
    ModelOptions model;
    engine::SamplingParams sampling;
    std::string system = "You are a helpful assistant.";
    int64_t n_predict = 1024;
};

bool has_token(const tokenizer::Tokenizer& tok, const std::string& text) {
    auto ids = tok.encode(text, false, true);
    return ids.size() == 1 && tok.token_text(ids[0]) == text;
}

void chat(const ChatOptions& o) {
    auto m = load_model(o.model.path);
    ThreadPool pool(thread_count(o.model));
    engine::Session session(*m, pool, session_options(o.model));
    const auto& tok = m->tokenizer();
    const bool chatml = has_token(tok, "<|im_start|>") && has_token(tok, "<|im_end|>");
    std::string pending = chatml ? "<|im_start|>system\n" + o.system + "<|im_end|>\n" : o.system + "\n\n";
    bool first = true;
    std::fprintf(stderr, "hearth chat: %s (%s markup). Type a message; /bye or Ctrl-D ends.\n",
                 m->file().get_string("general.name", o.model.path).c_str(), chatml ? "ChatML" : "plain");
    std::string line;
    while (true) {
        std::fprintf(stderr, "\n> ");
        if (!std::getline(std::cin, line) || line == "/bye") break;
        if (line.empty()) continue;
        pending += chatml ? "<|im_start|>user\n" + line + "<|im_end|>\n<|im_start|>assistant\n"
                          : "User: " + line + "\nAssistant:";
        std::vector<int32_t> ids = tok.encode(pending, first, true);
        first = false;
        engine::GenerateOptions g;
        g.max_tokens = o.n_predict;
        g.sampling = o.sampling;
        g.commit_last = true;
        if (!chatml) g.stop = {"\nUser:"};
        auto r = session.generate(ids, g, [](const std::string& s) {
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
            return true;
        });
        std::printf("\n");
        // The closing marker is fed with the next turn so the cache stays a faithful transcript.
        pending = chatml ? "<|im_end|>\n" : "\n";
        if (r.finish_reason == "context") {
            std::fprintf(stderr, "[context full: starting over]\n");
            session.reset();
            first = true;
            pending = chatml ? "<|im_start|>system\n" + o.system + "<|im_end|>\n" : o.system + "\n\n";
        }
    }
}

}  // namespace

void register_chat(CLI::App& app) {
    auto o = std::make_shared<ChatOptions>();
    CLI::App* sub = app.add_subcommand("chat", "talk with a model interactively");
    add_model_options(*sub, o->model);
    add_sampling_options(*sub, o->sampling);
    sub->add_option("--system", o->system, "system prompt")->capture_default_str();
    sub->add_option("-n,--n-predict", o->n_predict, "max tokens per answer")->capture_default_str();
    sub->callback([o] { chat(*o); });
}

}  // namespace hearth::cli
