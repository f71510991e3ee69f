#include "engine/batch_scheduler.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "engine/generation_state.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Positions [begin, end) of every layer, from one sequence's cache to another's.
void copy_positions(const model::KVCache& from, model::KVCache& to, int64_t n_layer, int64_t begin, int64_t end) {
    for (int64_t l = 0; l < n_layer; ++l)
        for (int64_t p = begin; p < end; ++p) {
            std::memcpy(to.k(l, p), from.k(l, p), from.k_row_bytes());
            if (from.v_row_bytes() > 0) std::memcpy(to.v(l, p), from.v(l, p), from.v_row_bytes());
        }
}

size_t common_head(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const size_t lim = std::min(a.size(), b.size());
    size_t n = 0;
    while (n < lim && a[n] == b[n]) ++n;
    return n;
}
}  // namespace

struct BatchScheduler::Slot {
    explicit Slot(model::KVCache c) : cache(std::move(c)) {}
    model::KVCache cache;
    std::vector<int32_t> tokens;  // what the cache holds: tokens[p] at position p
    std::shared_ptr<SequenceRequest> req;  // null: free
    std::unique_ptr<GenerationState> gen;
    size_t fed = 0;           // prompt tokens in the cache
    bool decoding = false;    // the prompt is in; `next` is the token to feed
    int32_t next = -1;
    uint64_t admitted = 0;    // FIFO order of prefill
    uint64_t last_used = 0;   // LRU among free slots
    Clock::time_point t_admit, t_first;
    Slot* leader = nullptr;   // an active sequence still computing the head this one will copy
    size_t share = 0;         // how many prompt positions to copy from the leader
};

BatchScheduler::BatchScheduler(const model::Model& m, ThreadPool& pool, const SchedulerOptions& opt)
    : model_(m), pool_(pool), opt_(opt) {
    if (opt_.max_sequences <= 0) throw Error("the batch scheduler needs at least one sequence slot (max_sequences)");
    if (opt_.n_batch <= 0) opt_.n_batch = 256;
    n_ctx_ = clip_ctx(m, opt_.n_ctx);
    for (int64_t i = 0; i < opt_.max_sequences; ++i)
        slots_.push_back(std::make_unique<Slot>(m.make_cache(n_ctx_, opt_.kv_type)));
    logits_.resize(static_cast<size_t>(opt_.max_sequences) * static_cast<size_t>(m.hparams().n_vocab));
}

BatchScheduler::~BatchScheduler() = default;

int64_t BatchScheduler::n_active() const {
    int64_t n = 0;
    for (const auto& s : slots_) n += s->req != nullptr;
    return n;
}

const std::vector<int32_t>& BatchScheduler::slot_tokens(size_t i) const { return slots_.at(i)->tokens; }

void BatchScheduler::add(std::shared_ptr<SequenceRequest> req) {
    if (!req) throw Error("batch scheduler: null request");
    if (!has_free_slot()) throw Error("batch scheduler: no free sequence slot (" + std::to_string(max_sequences()) + " in use)");
    auto reject = [&](const std::string& why) {
        if (req->on_error) req->on_error(why);
    };
    if (!req->on_done || !req->on_error) return reject("batch scheduler: a request needs both on_done and on_error");
    if (req->prompt.empty()) return reject("the prompt is empty");
    if (static_cast<int64_t>(req->prompt.size()) > n_ctx_)
        return reject("the prompt has " + std::to_string(req->prompt.size()) + " tokens but the context holds " +
                      std::to_string(n_ctx_));
    const int64_t n_vocab = model_.hparams().n_vocab;
    for (int32_t id : req->prompt)
        if (id < 0 || id >= n_vocab)
            return reject("token id " + std::to_string(id) + " is out of the vocabulary (" + std::to_string(n_vocab) + ")");

    // The free slot holding the longest head of this prompt; among equals the least
    // recently used, so that the caches of other recent prompts survive longer.
    Slot* best = nullptr;
    size_t best_common = 0;
    for (auto& sp : slots_) {
        Slot& s = *sp;
        if (s.req) continue;
        const size_t common = opt_.prefix_reuse ? common_head(s.tokens, req->prompt) : 0;
        if (!best || common > best_common || (common == best_common && s.last_used < best->last_used)) {
            best = &s;
            best_common = common;
        }
    }
    Slot& s = *best;
    // The last prompt token is always computed: its logits give the first generated token.
    const size_t keep = std::min(best_common, req->prompt.size() - 1);
    s.tokens.resize(keep);
    s.cache.set_n_past(static_cast<int64_t>(keep));
    s.fed = keep;
    stats_.reused_tokens += static_cast<int64_t>(keep);
    s.decoding = false;
    s.next = -1;
    s.admitted = s.last_used = ++clock_;
    s.t_admit = s.t_first = Clock::now();
    s.leader = nullptr;
    s.share = 0;
    // An active sequence with a longer head of this prompt (a sibling choice of the same
    // request, or a request with the same system prompt): copy from its cache.
    if (opt_.prefix_reuse) {
        Slot* src = nullptr;
        size_t src_common = 0;
        for (auto& sp : slots_) {
            if (!sp->req || sp->leader || sp.get() == &s) continue;
            const size_t c = common_head(sp->req->prompt, req->prompt);
            if (c > src_common) {
                src = sp.get();
                src_common = c;
            }
        }
        const size_t share = std::min(src_common, req->prompt.size() - 1);
        if (src && share > keep) {
            s.tokens.assign(req->prompt.begin(), req->prompt.begin() + static_cast<std::ptrdiff_t>(keep));
            if (src->fed >= share) {
                copy_positions(src->cache, s.cache, model_.hparams().n_layer, static_cast<int64_t>(keep),
                               static_cast<int64_t>(share));
                s.tokens.assign(req->prompt.begin(), req->prompt.begin() + static_cast<std::ptrdiff_t>(share));
                s.cache.set_n_past(static_cast<int64_t>(share));
                s.fed = share;
                stats_.reused_tokens += static_cast<int64_t>(share - keep);
            } else {
                s.leader = src;
                s.share = share;
            }
        }
    }
    s.gen = std::make_unique<GenerationState>(model_.tokenizer(), req->gen, req->on_text, req->on_logprob);
    s.req = std::move(req);
}

void BatchScheduler::release_followers() {
    for (auto& sp : slots_) {
        Slot& f = *sp;
        if (!f.req || !f.leader) continue;
        Slot& l = *f.leader;
        // The leader's cache holds its first `fed` prompt positions (tokens mirrors the cache).
        const size_t have = std::min(l.fed, l.tokens.size());
        if (have >= f.share) {
            copy_positions(l.cache, f.cache, model_.hparams().n_layer, static_cast<int64_t>(f.fed),
                           static_cast<int64_t>(f.share));
            f.tokens.assign(f.req->prompt.begin(), f.req->prompt.begin() + static_cast<std::ptrdiff_t>(f.share));
            f.cache.set_n_past(static_cast<int64_t>(f.share));
            stats_.reused_tokens += static_cast<int64_t>(f.share - f.fed);
            f.fed = f.share;
            f.leader = nullptr;
        } else if (!l.req) {
            f.leader = nullptr;  // it ended before computing the head: prefill on our own
        }
    }
}

void BatchScheduler::retire(Slot& s) {
    GenerateResult r = s.gen->finish();
    const auto now = Clock::now();
    r.n_prompt = static_cast<int64_t>(s.req->prompt.size());
    r.prefill_seconds = seconds_between(s.t_admit, s.decoding ? s.t_first : now);
    r.decode_seconds = s.decoding ? seconds_between(s.t_first, now) : 0.0;
    auto req = std::move(s.req);
    s.req = nullptr;
    s.gen.reset();
    s.leader = nullptr;
    s.last_used = ++clock_;
    release_followers();  // before a new request may take this slot's cache
    req->on_done(std::move(r));
}

void BatchScheduler::fail(Slot& s, const std::string& message) {
    auto req = std::move(s.req);
    s.req = nullptr;
    s.gen.reset();
    s.leader = nullptr;
    s.last_used = ++clock_;
    release_followers();
    req->on_error(message);
}

void BatchScheduler::abort_all(const std::string& message) {
    for (auto& s : slots_)
        if (s->req) fail(*s, message);
}

void BatchScheduler::run_until_idle() {
    while (!idle()) step();
}

void BatchScheduler::step() {
    // Requests whose client went away or whose time is up end before any work is spent on them.
    const auto now = Clock::now();
    for (auto& sp : slots_) {
        Slot& s = *sp;
        if (!s.req) continue;
        if (s.gen->cancelled() || (s.req->cancelled && s.req->cancelled()))
            s.gen->stop("cancelled");
        else if (now >= s.req->deadline)
            s.gen->stop("deadline");
        if (s.gen->done()) retire(s);
    }

    // Decode rows first (one per generating sequence), then prompt chunks, oldest first.
    std::vector<model::SeqChunk> chunks;
    std::vector<Slot*> owners;
    for (auto& sp : slots_) {
        Slot& s = *sp;
        if (!s.req || !s.decoding) continue;
        chunks.push_back({&s.cache, &s.next, 1, model::Logits::kLast, true});
        owners.push_back(&s);
    }
    const int64_t n_decode = static_cast<int64_t>(chunks.size());
    std::vector<Slot*> prefilling;
    for (auto& sp : slots_)
        if (sp->req && !sp->decoding && !sp->leader) prefilling.push_back(sp.get());
    std::sort(prefilling.begin(), prefilling.end(), [](const Slot* a, const Slot* b) { return a->admitted < b->admitted; });
    int64_t budget = opt_.n_batch, n_prompt = 0;
    for (Slot* s : prefilling) {
        if (budget <= 0) break;
        const int64_t left = static_cast<int64_t>(s->req->prompt.size() - s->fed);
        const int64_t take = std::min(left, budget);
        budget -= take;
        n_prompt += take;
        chunks.push_back({&s->cache, s->req->prompt.data() + s->fed, take,
                          take == left ? model::Logits::kLast : model::Logits::kNone});
        owners.push_back(s);
    }
    if (chunks.empty()) return;

    try {
        model_.forward_batch(pool_, chunks, logits_.data(), scratch_);
    } catch (const std::exception& e) {
        // Validation happens before any cache is written, but be safe: forget what these
        // slots held and end their requests.
        for (Slot* s : owners) {
            s->cache.set_n_past(0);
            s->tokens.clear();
            fail(*s, e.what());
        }
        return;
    }
    ++stats_.steps;
    stats_.decode_tokens += n_decode;
    stats_.prompt_tokens += n_prompt;
    stats_.max_batch_rows = std::max(stats_.max_batch_rows, n_decode + n_prompt);
    stats_.max_batch_seqs = std::max(stats_.max_batch_seqs, static_cast<int64_t>(chunks.size()));
    stats_.mixed_steps += n_decode > 0 && n_prompt > 0;

    const int64_t n_vocab = model_.hparams().n_vocab;
    int64_t out_row = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
        Slot& s = *owners[i];
        const model::SeqChunk& c = chunks[i];
        s.tokens.insert(s.tokens.end(), c.tokens, c.tokens + c.n);
        if (!s.decoding) s.fed += static_cast<size_t>(c.n);
        if (c.logits == model::Logits::kNone) continue;
        float* logits = logits_.data() + out_row * n_vocab;
        ++out_row;
        if (!s.decoding) {
            s.decoding = true;
            s.t_first = Clock::now();
        }
        const auto id = s.gen->next(logits, n_vocab, s.tokens, s.cache.n_past(), s.cache.n_ctx());
        if (id)
            s.next = *id;
        else
            retire(s);
    }
    release_followers();
}

}  // namespace hearth::engine
