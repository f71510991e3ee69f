#include "engine/session.h"

#include <algorithm>

#include "core/error.h"
#include "engine/generation_state.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int64_t clip_ctx(const model::Model& m, int64_t n_ctx) {
    int64_t train = m.hparams().n_ctx_train;
    if (n_ctx <= 0 || (train > 0 && n_ctx > train)) n_ctx = train > 0 ? train : 4096;
    return n_ctx;
}

Session::Session(const model::Model& m, ThreadPool& pool, const SessionOptions& opt)
    : model_(m), pool_(pool), opt_(opt), cache_(m.make_cache(clip_ctx(m, opt.n_ctx), opt.kv_type)) {
    if (opt_.n_batch <= 0) opt_.n_batch = 256;
}

void Session::reset() {
    cache_.set_n_past(0);
    history_.clear();
}

const std::vector<float>& Session::feed(const std::vector<int32_t>& tokens, bool decode) {
    if (tokens.empty()) throw Error("nothing to feed: empty token list");
    if (n_past() + static_cast<int64_t>(tokens.size()) > n_ctx())
        throw Error("prompt of " + std::to_string(tokens.size()) + " tokens does not fit: " + std::to_string(n_past()) +
                    " already used of a context of " + std::to_string(n_ctx()) + " (raise --ctx-size)");
    logits_.resize(static_cast<size_t>(model_.hparams().n_vocab));
    for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(opt_.n_batch)) {
        size_t n = std::min(tokens.size() - i, static_cast<size_t>(opt_.n_batch));
        const model::SeqChunk c{&cache_, tokens.data() + i, static_cast<int64_t>(n), model::Logits::kLast, decode};
        model_.forward_batch(pool_, std::span<const model::SeqChunk>(&c, 1), logits_.data(), scratch_);
    }
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return logits_;
}

GenerateResult Session::generate(const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                                 const std::function<bool(const std::string&)>& on_text) {
    auto t0 = std::chrono::steady_clock::now();
    feed(prompt);
    const double prefill = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    GenerationState st(model_.tokenizer(), opt, on_text);
    while (auto id = st.next(logits_.data(), static_cast<int64_t>(logits_.size()), history_, n_past(), n_ctx()))
        feed({*id}, true);
    GenerateResult r = st.finish();
    r.n_prompt = static_cast<int64_t>(prompt.size());
    r.prefill_seconds = prefill;
    r.decode_seconds = seconds_since(t0);
    return r;
}

}  // namespace hearth::engine
