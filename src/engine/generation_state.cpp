#include "engine/generation_state.h"

#include <algorithm>

namespace hearth::engine {

GenerationState::GenerationState(const tokenizer::Tokenizer& tok, const GenerateOptions& opt,
                                 std::function<bool(const std::string&)> on_text,
                                 std::function<void(const TokenLogprob&)> on_logprob)
    : tok_(tok), opt_(opt), on_text_(std::move(on_text)), on_logprob_(std::move(on_logprob)), sampler_(opt.sampling),
      dec_(tok) {
    for (const auto& s : opt_.stop) max_stop_ = std::max(max_stop_, s.size());
    r_.finish_reason = "length";
}

void GenerationState::emit(const std::string& s) {
    if (s.empty() || cancelled_) return;
    r_.text += s;
    if (on_text_ && !on_text_(s)) cancelled_ = true;
}

void GenerationState::stop(const std::string& reason) {
    forced_reason_ = reason;
    done_ = true;
}

std::optional<int32_t> GenerationState::next(float* logits, int64_t n_vocab, const std::vector<int32_t>& history,
                                             int64_t n_past, int64_t n_ctx) {
    if (done_) return std::nullopt;
    if (cancelled_ || static_cast<int64_t>(r_.tokens.size()) >= opt_.max_tokens) {
        done_ = true;
        return std::nullopt;
    }
    // Logprobs describe the model's distribution, so they are read before a constraint masks
    // the logits in place (the sampler itself does not modify them).
    const bool want_logprobs = opt_.top_logprobs >= 0;
    if (want_logprobs) {
        lse_ = log_sum_exp(logits, n_vocab);
        top_logits(logits, n_vocab, opt_.top_logprobs, top_);
    }
    int32_t id = sampler_.sample(logits, n_vocab, history);
    if (opt_.constraint) {
        const int64_t left = opt_.max_tokens - static_cast<int64_t>(r_.tokens.size());
        if (!opt_.constraint->allows(id, left)) {
            opt_.constraint->mask(logits, n_vocab, left);
            id = sampler_.sample(logits, n_vocab, history);
        }
        opt_.constraint->accept(id);
    }
    if (!opt_.ignore_eos && tok_.is_eog(id)) {
        r_.finish_reason = "stop";
        done_ = true;
        return std::nullopt;
    }
    r_.tokens.push_back(id);
    if (want_logprobs) {
        // A mask leaves the tokens it allows untouched, so logits[id] is still the raw logit.
        TokenLogprob t{id, static_cast<float>(logits[id] - lse_), {}};
        t.top.reserve(top_.size());
        for (const auto& c : top_) t.top.push_back({c.id, static_cast<float>(c.logprob - lse_)});
        if (on_logprob_) on_logprob_(t);
        r_.logprobs.push_back(std::move(t));
    }
    held_ += dec_.push(id);
    if (!opt_.stop.empty()) {
        size_t cut = std::string::npos;
        for (const auto& s : opt_.stop) {
            const size_t at = held_.find(s);
            if (at != std::string::npos) cut = std::min(cut, at);
        }
        if (cut != std::string::npos) {
            emit(held_.substr(0, cut));
            held_.clear();
            r_.finish_reason = "stop";
            done_ = true;
            return std::nullopt;
        }
        // Keep back only what could still be the start of a stop string.
        if (held_.size() > max_stop_) {
            const size_t keep = max_stop_ - 1;
            emit(held_.substr(0, held_.size() - keep));
            held_.erase(0, held_.size() - keep);
        }
    } else {
        emit(held_);
        held_.clear();
    }
    // Without commit_last the last token is never fed: nothing would read its logits.
    if (static_cast<int64_t>(r_.tokens.size()) >= opt_.max_tokens && !opt_.commit_last) {
        done_ = true;
        return std::nullopt;
    }
    if (n_past >= n_ctx) {
        r_.finish_reason = "context";
        done_ = true;
        return std::nullopt;
    }
    if (cancelled_) {
        done_ = true;
        return std::nullopt;
    }
    return id;
}

GenerateResult GenerationState::finish() {
    done_ = true;
    if (!forced_reason_.empty()) r_.finish_reason = forced_reason_;
    if (cancelled_) r_.finish_reason = "cancelled";
    if (r_.finish_reason != "stop" || opt_.stop.empty()) held_ += dec_.flush();
    emit(held_);
    held_.clear();
    return std::move(r_);
}

}  // namespace hearth::engine
