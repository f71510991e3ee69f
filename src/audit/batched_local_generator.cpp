#include "audit/batched_local_generator.h"

#include <algorithm>

#include "chat/chat_template.h"
#include "chat/json_schema.h"
#include "chat/model_template.h"
#include "chat/output_parser.h"
#include "core/error.h"
#include "engine/batch_scheduler.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::audit {
namespace {

// One probe in flight: what its callbacks need, kept alive until the scheduler answers.
struct InFlight {
    size_t index = 0;
    std::string prompt_text;
    std::unique_ptr<chat::JsonSchemaConstraint> constraint;
    bool answered = false;
    Generation gen;
    std::string error;
};

}  // namespace

struct BatchedLocalGenerator::Impl {
    const model::Model& m;
    std::unique_ptr<chat::ChatTemplate> tmpl;
    bool fallback = false;
    chat::OutputFormat format = chat::OutputFormat::Hermes;
    ThreadPool& pool;
    engine::SchedulerOptions sched_opt;
    std::shared_ptr<const chat::TokenIndex> index;
    std::unique_ptr<nlohmann::ordered_json> schema;

    Impl(const model::Model& mm, ThreadPool& p, const engine::SchedulerOptions& so) : m(mm), pool(p), sched_opt(so) {}

    std::string render(const Probe& p) const {
        nlohmann::ordered_json messages = nlohmann::ordered_json::array();
        if (!p.system.empty()) messages.push_back({{"role", "system"}, {"content", p.system}});
        messages.push_back({{"role", "user"}, {"content", p.prompt}});
        return tmpl->render(messages, nullptr, true);
    }
};

BatchedLocalGenerator::BatchedLocalGenerator(const model::Model& m, ThreadPool& pool,
                                             const engine::SessionOptions& so, int parallel, std::string name,
                                             std::string identity)
    : parallel_(parallel), name_(std::move(name)), identity_(std::move(identity)) {
    if (parallel < 1) throw Error("--parallel must be at least 1");
    engine::SchedulerOptions sched;
    sched.max_sequences = parallel;
    sched.n_ctx = so.n_ctx;
    sched.n_batch = so.n_batch;
    sched.kv_type = so.kv_type;
    sched.prefix_reuse = true;
    impl_ = std::make_unique<Impl>(m, pool, sched);  // slots are made per generate() call
    const auto& tok = m.tokenizer();
    chat::ModelTemplate t = chat::template_for_model(m.file(), tok);
    impl_->tmpl = std::make_unique<chat::ChatTemplate>(std::move(t.tmpl));
    impl_->fallback = !t.own;
    impl_->format = chat::detect_output_format(impl_->tmpl->source());
}

BatchedLocalGenerator::~BatchedLocalGenerator() = default;

std::string BatchedLocalGenerator::request_text(const Probe& p) const { return impl_->render(p); }

std::string BatchedLocalGenerator::sampling() const {
    std::string s = "greedy";
    if (impl_->schema) s += " json_schema " + impl_->schema->dump();
    return s;
}

void BatchedLocalGenerator::set_json_schema(const nlohmann::ordered_json& schema) {
    if (!impl_->index) impl_->index = chat::TokenIndex::build(impl_->m.tokenizer());
    chat::JsonSchemaConstraint check(schema, impl_->index);  // a schema hearth cannot compile fails here
    impl_->schema = std::make_unique<nlohmann::ordered_json>(schema);
}

void BatchedLocalGenerator::generate(const std::vector<Probe>& probes, const std::vector<size_t>& todo,
                                     int64_t max_tokens, const OnDone& done, const OnFailed& failed) {
    auto& I = *impl_;
    const auto& tok = I.m.tokenizer();

    // Every prompt first: its length sizes the slots.
    struct Prepared {
        size_t index;
        std::string text;
        std::vector<int32_t> ids;
    };
    std::vector<Prepared> prepared;
    size_t longest = 0;
    for (size_t i : todo) {
        Prepared pr{i, {}, {}};
        try {
            pr.text = I.render(probes.at(i));
            const std::string& bos_text = I.tmpl->bos_token();
            const bool has_bos = !bos_text.empty() && pr.text.rfind(bos_text, 0) == 0;
            pr.ids = tok.encode(pr.text, !has_bos, true);
        } catch (const std::exception& e) {
            failed(i, std::string("cannot build the prompt: ") + e.what());
            continue;
        }
        longest = std::max(longest, pr.ids.size());
        prepared.push_back(std::move(pr));
    }
    if (prepared.empty()) return;
    // A slot needs room for its prompt and max_tokens, no more: the KV memory is parallel x this,
    // and no answer can change, since none reaches the smaller context before its token limit.
    engine::SchedulerOptions so = I.sched_opt;
    so.n_ctx = std::min<int64_t>(engine::clip_ctx(I.m, so.n_ctx), static_cast<int64_t>(longest) + max_tokens + 1);
    engine::BatchScheduler scheduler(I.m, I.pool, so);

    size_t next = 0;
    std::vector<std::shared_ptr<InFlight>> flying;

    // Answers are handed on outside the scheduler's step, so grading (and a judge model) never
    // runs inside it.
    auto hand_on = [&] {
        std::erase_if(flying, [&](const std::shared_ptr<InFlight>& f) {
            if (!f->answered) return false;
            if (f->error.empty())
                done(f->index, std::move(f->gen));
            else
                failed(f->index, f->error);
            return true;
        });
    };

    try {
        while (next < prepared.size() || !scheduler.idle()) {
            while (next < prepared.size() && scheduler.has_free_slot()) {
                Prepared& pr = prepared[next++];
                auto f = std::make_shared<InFlight>();
                f->index = pr.index;
                f->prompt_text = std::move(pr.text);
                auto req = std::make_shared<engine::SequenceRequest>();
                req->prompt = std::move(pr.ids);
                req->gen.max_tokens = max_tokens;
                req->gen.sampling.temperature = 0;
                req->gen.sampling.top_k = 0;
                req->gen.sampling.top_p = 1;
                req->gen.sampling.min_p = 0;
                if (I.fallback) req->gen.stop = {"<|im_end|>", "<|im_start|>"};
                if (I.schema) {
                    f->constraint = std::make_unique<chat::JsonSchemaConstraint>(*I.schema, I.index);
                    req->gen.constraint = f->constraint.get();
                }
                InFlight* raw = f.get();
                const chat::OutputFormat format = I.format;
                req->on_done = [raw, format](engine::GenerateResult gr) {
                    raw->gen = to_generation(gr, format, raw->prompt_text);
                    raw->answered = true;
                };
                req->on_error = [raw](const std::string& e) {
                    raw->error = e;
                    raw->answered = true;
                };
                flying.push_back(f);
                scheduler.add(req);
            }
            hand_on();
            scheduler.step();
            hand_on();
        }
    } catch (...) {
        // A callback threw (the results file could not be written): end the sequences still
        // running while their records are alive, so the scheduler holds no dangling callbacks.
        scheduler.abort_all("the audit run stopped");
        throw;
    }
}

}  // namespace hearth::audit
