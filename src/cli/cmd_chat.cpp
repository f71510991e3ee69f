// hearth chat: a conversation in the terminal, rendered with the model's own chat template
// (ChatML when the file has none). Reasoning is shown apart from the answer: dim on a
// terminal, on standard error with a "[reasoning]" prefix otherwise, so piped output is the
// answer alone. Commands: /think, /no_think, /system TEXT, /save FILE, /bye.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "chat/model_template.h"
#include "chat/output_parser.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::cli {
namespace {

using json = nlohmann::ordered_json;

struct ChatOptions {
    ModelOptions model;
    engine::SamplingParams sampling;
    std::string system = "You are a helpful assistant.";
    int64_t n_predict = 1024;
    bool think = true;
};

// Prints reasoning and answer as they stream, keeping them apart.
class Printer {
public:
    Printer() : tty_(::isatty(STDOUT_FILENO) != 0) {}
    void reasoning(const std::string& s) {
        if (s.empty()) return;
        if (tty_) {
            if (!in_reasoning_) std::fputs("\x1b[2m", stdout);
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
        } else {
            for (char c : s) {
                if (line_start_) std::fputs("[reasoning] ", stderr);
                std::fputc(c, stderr);
                line_start_ = c == '\n';
            }
        }
        in_reasoning_ = true;
    }
    void content(const std::string& s) {
        if (s.empty()) return;
        end_reasoning();
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
    }
    void end_reasoning() {
        if (!in_reasoning_) return;
        if (tty_) std::fputs("\x1b[0m\n", stdout);
        else if (!line_start_) std::fputc('\n', stderr);
        line_start_ = true;
        in_reasoning_ = false;
    }

private:
    bool tty_;
    bool in_reasoning_ = false;
    bool line_start_ = true;
};

void chat(const ChatOptions& o) {
    auto m = load_model(o.model.path, o.model.ubatch);
    ThreadPool pool(thread_count(o.model));
    engine::Session session(*m, pool, session_options(o.model));
    const auto& tok = m->tokenizer();
    chat::ModelTemplate mt = chat::template_for_model(m->file(), tok);
    const bool fallback = !mt.own;
    chat::ChatTemplate tmpl = std::move(mt.tmpl);
    const chat::OutputFormat fmt = chat::detect_output_format(tmpl.source());
    bool think = o.think;
    std::string system = o.system;
    json turns = json::array();  // user and assistant messages (the system one is added on render)
    std::string fed;             // the text the KV cache holds

    std::fprintf(stderr,
                 "hearth chat: %s (%s template). Type a message; /think, /no_think, /system TEXT, "
                 "/save FILE, /bye or Ctrl-D.\n",
                 m->file().get_string("general.name", o.model.path).c_str(), fallback ? "ChatML fallback" : "model's");
    auto messages = [&] {
        json msgs = json::array();
        if (!system.empty()) msgs.push_back({{"role", "system"}, {"content", system}});
        for (const auto& t : turns) msgs.push_back(t);
        return msgs;
    };
    std::string line;
    while (true) {
        std::fprintf(stderr, "\n> ");
        if (!std::getline(std::cin, line)) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "/bye") break;
        if (line.empty()) continue;
        if (line == "/think" || line == "/no_think") {
            think = line == "/think";
            std::fprintf(stderr, "[thinking %s]\n", think ? "on" : "off");
            continue;
        }
        if (line == "/system" || line.rfind("/system ", 0) == 0) {
            system = line.size() > 8 ? line.substr(8) : "";
            turns = json::array();
            session.reset();
            fed.clear();
            std::fprintf(stderr, "[system prompt set; conversation restarted]\n");
            continue;
        }
        if (line == "/save" || line.rfind("/save ", 0) == 0) {
            std::string path = line.size() > 6 ? line.substr(6) : "";
            if (path.empty()) {
                std::fprintf(stderr, "usage: /save FILE\n");
                continue;
            }
            std::ofstream out(path);
            out << json({{"model", m->file().get_string("general.name", o.model.path)},
                         {"enable_thinking", think},
                         {"messages", messages()}})
                       .dump(2)
                << "\n";
            std::fprintf(stderr, out ? "[saved to %s]\n" : "[could not write %s]\n", path.c_str());
            continue;
        }

        turns.push_back({{"role", "user"}, {"content", line}});
        std::string prompt;
        try {
            prompt = tmpl.render(messages(), nullptr, true, {{"enable_thinking", think}});
        } catch (const Error& e) {
            std::fprintf(stderr, "template error: %s\n", e.what());
            turns.erase(turns.size() - 1);
            continue;
        }
        // Feed only what the cache lacks when the new render extends what it holds; the
        // template may rewrite history (dropping old reasoning, say), then start over.
        std::string suffix;
        if (!fed.empty() && prompt.size() > fed.size() && prompt.compare(0, fed.size(), fed) == 0) {
            suffix = prompt.substr(fed.size());
        } else {
            session.reset();
            suffix = prompt;
        }
        std::vector<int32_t> ids = tok.encode(suffix, false, true);
        if (session.n_past() + static_cast<int64_t>(ids.size()) + 1 >= session.n_ctx()) {
            std::fprintf(stderr, "[context full: starting over with this message]\n");
            turns = json::array({turns.back()});
            prompt = tmpl.render(messages(), nullptr, true, {{"enable_thinking", think}});
            session.reset();
            ids = tok.encode(prompt, false, true);
        }
        engine::GenerateOptions g;
        g.max_tokens = std::min<int64_t>(o.n_predict, session.n_ctx() - session.n_past() - static_cast<int64_t>(ids.size()));
        g.sampling = o.sampling;
        g.commit_last = true;
        chat::OutputParser parser(fmt, chat::prompt_opens_reasoning(prompt));
        Printer print;
        engine::GenerateResult r;
        try {
            r = session.generate(ids, g, [&](const std::string& s) {
                auto d = parser.push(s);
                print.reasoning(d.reasoning);
                print.content(d.content);
                return true;
            });
        } catch (const Error& e) {
            std::fprintf(stderr, "\nerror: %s\n", e.what());
            turns.erase(turns.size() - 1);
            session.reset();
            fed.clear();
            continue;
        }
        auto d = parser.finish();
        print.reasoning(d.reasoning);
        print.content(d.content);
        print.end_reasoning();
        std::printf("\n");
        std::fflush(stdout);
        const chat::ParsedOutput& out = parser.result();
        for (const auto& c : out.tool_calls)
            std::fprintf(stderr, "[tool call %s: %s %s]\n", c.id.c_str(), c.name.c_str(), c.arguments.c_str());
        turns.push_back(out.to_message());
        fed = prompt + r.text;
        if (r.finish_reason == "context") {
            std::fprintf(stderr, "[context full: the next message starts over]\n");
            session.reset();
            fed.clear();
            turns = json::array();
        }
    }
}

}  // namespace

void register_chat(CLI::App& app) {
    auto o = std::make_shared<ChatOptions>();
    CLI::App* sub = app.add_subcommand("chat", "talk with a model (its own chat template); stdin may be piped");
    add_model_options(*sub, o->model);
    add_sampling_options(*sub, o->sampling);
    sub->add_option("--system", o->system, "system prompt (empty: none)")->capture_default_str();
    sub->add_option("-n,--n-predict", o->n_predict, "max tokens per answer")->capture_default_str();
    sub->add_flag("--think,!--no-think", o->think, "enable_thinking for templates that read it (default on)");
    sub->callback([o] { chat(*o); });
}

}  // namespace hearth::cli
