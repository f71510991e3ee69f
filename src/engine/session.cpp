#include "engine/session.h"

#include <algorithm>

#include "core/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
int64_t clip_ctx(const model::Model& m, int64_t n_ctx) {
    int64_t train = m.hparams().n_ctx_train;
    if (n_ctx <= 0 || (train > 0 && n_ctx > train)) n_ctx = train > 0 ? train : 4096;
    return n_ctx;
}
}  // namespace

Session::Session(const model::Model& m, ThreadPool& pool, const SessionOptions& opt)
    : model_(m), pool_(pool), opt_(opt), cache_(m.make_cache(clip_ctx(m, opt.n_ctx), opt.kv_type)) {
    if (opt_.n_batch <= 0) opt_.n_batch = 256;
}

void Session::reset() {
    cache_.set_n_past(0);
    history_.clear();
}

const std::vector<float>& Session::feed(const std::vector<int32_t>& tokens) {
    if (tokens.empty()) throw Error("nothing to feed: empty token list");
    if (n_past() + static_cast<int64_t>(tokens.size()) > n_ctx())
        throw Error("prompt of " + std::to_string(tokens.size()) + " tokens does not fit: " + std::to_string(n_past()) +
                    " already used of a context of " + std::to_string(n_ctx()) + " (raise --ctx-size)");
    logits_.resize(static_cast<size_t>(model_.hparams().n_vocab));
    for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(opt_.n_batch)) {
        size_t n = std::min(tokens.size() - i, static_cast<size_t>(opt_.n_batch));
        model_.forward(pool_, cache_, tokens.data() + i, static_cast<int64_t>(n), logits_.data(), false);
    }
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return logits_;
}

GenerateResult Session::generate(const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                                 const std::function<bool(const std::string&)>& on_text) {
    GenerateResult r;
    r.n_prompt = static_cast<int64_t>(prompt.size());
    const tokenizer::Tokenizer& tok = model_.tokenizer();
    auto t0 = std::chrono::steady_clock::now();
    feed(prompt);
    r.prefill_seconds = seconds_since(t0);

    Sampler sampler(opt.sampling);
    tokenizer::StreamDecoder dec(tok);
    size_t max_stop = 0;
    for (const auto& s : opt.stop) max_stop = std::max(max_stop, s.size());
    std::string held;  // decoded text not yet emitted because it may begin a stop string
    bool cancelled = false;
    auto emit = [&](const std::string& s) {
        if (s.empty() || cancelled) return;
        r.text += s;
        if (on_text && !on_text(s)) cancelled = true;
    };

    t0 = std::chrono::steady_clock::now();
    r.finish_reason = "length";
    while (static_cast<int64_t>(r.tokens.size()) < opt.max_tokens && !cancelled) {
        int32_t id = sampler.sample(logits_.data(), static_cast<int64_t>(logits_.size()), history_);
        if (opt.constraint) {
            const int64_t left = opt.max_tokens - static_cast<int64_t>(r.tokens.size());
            if (!opt.constraint->allows(id, left)) {
                opt.constraint->mask(logits_.data(), static_cast<int64_t>(logits_.size()), left);
                id = sampler.sample(logits_.data(), static_cast<int64_t>(logits_.size()), history_);
            }
            opt.constraint->accept(id);
        }
        if (!opt.ignore_eos && tok.is_eog(id)) {
            r.finish_reason = "stop";
            break;
        }
        r.tokens.push_back(id);
        held += dec.push(id);
        if (!opt.stop.empty()) {
            size_t cut = std::string::npos;
            for (const auto& s : opt.stop) {
                size_t at = held.find(s);
                if (at != std::string::npos) cut = std::min(cut, at);
            }
            if (cut != std::string::npos) {
                emit(held.substr(0, cut));
                held.clear();
                r.finish_reason = "stop";
                break;
            }
            // Keep back only what could still be the start of a stop string.
            if (held.size() > max_stop) {
                size_t keep = max_stop - 1;
                emit(held.substr(0, held.size() - keep));
                held.erase(0, held.size() - keep);
            }
        } else {
            emit(held);
            held.clear();
        }
        if (static_cast<int64_t>(r.tokens.size()) >= opt.max_tokens && !opt.commit_last) break;
        if (n_past() >= n_ctx()) {
            r.finish_reason = "context";
            break;
        }
        feed({id});
    }
    if (cancelled) r.finish_reason = "cancelled";
    if (r.finish_reason != "stop" || opt.stop.empty()) held += dec.flush();
    emit(held);
    r.decode_seconds = seconds_since(t0);
    return r;
}

}  // namespace hearth::engine
