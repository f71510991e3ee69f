#include "chat/tool_call_stream.h"

#include <nlohmann/json.hpp>

namespace hearth::chat {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// End of the JSON string starting at s[i] == '"' (one past the closing quote), npos if it
// has not arrived yet.
size_t string_end(const std::string& s, size_t i) {
    for (size_t k = i + 1; k < s.size(); ++k) {
        if (s[k] == '\\') ++k;
        else if (s[k] == '"') return k + 1;
    }
    return std::string::npos;
}

}  // namespace

ToolCallStream::ToolCallStream(OutputFormat fmt) : fmt_(fmt) {
    if (!streamable()) st_ = State::Done;
}

std::vector<ToolCallPiece> ToolCallStream::push(std::string_view markup) {
    std::vector<ToolCallPiece> out;
    if (st_ == State::Done) return out;
    buf_.append(markup);
    run(out);
    return out;
}

void ToolCallStream::run(std::vector<ToolCallPiece>& out) {
    auto skip_space = [&] {
        while (pos_ < buf_.size() && is_space(buf_[pos_])) ++pos_;
        return pos_ < buf_.size();
    };
    while (st_ != State::Done) {
        switch (st_) {
        case State::SeekCall:
            if (fmt_ == OutputFormat::Hermes) {
                const size_t at = buf_.find("<tool_call>", pos_);
                if (at == std::string::npos) return;
                pos_ = at + 11;
            } else {  // Llama 3: objects separated by ';'
                while (pos_ < buf_.size() && (is_space(buf_[pos_]) || buf_[pos_] == ';')) ++pos_;
                if (pos_ >= buf_.size()) return;
            }
            st_ = State::SeekBrace;
            break;
        case State::SeekBrace:
            if (!skip_space()) return;
            if (buf_[pos_] != '{') {  // not a call object (a Llama 3 built-in call, say): left to finish()
                st_ = State::Done;
                return;
            }
            ++pos_;
            ++calls_;
            name_.clear();
            st_ = State::SeekKey;
            break;
        case State::SeekKey: {
            while (pos_ < buf_.size() && (is_space(buf_[pos_]) || buf_[pos_] == ',')) ++pos_;
            if (pos_ >= buf_.size()) return;
            if (buf_[pos_] == '}') {  // the call object is complete
                ++pos_;
                st_ = State::SeekCall;
                break;
            }
            if (buf_[pos_] != '"') {
                st_ = State::Done;
                return;
            }
            const size_t end = string_end(buf_, pos_);
            if (end == std::string::npos) return;
            auto k = nlohmann::json::parse(buf_.substr(pos_, end - pos_), nullptr, false);
            key_ = k.is_string() ? k.get<std::string>() : "";
            pos_ = end;
            st_ = State::Colon;
            break;
        }
        case State::Colon:
            if (!skip_space()) return;
            if (buf_[pos_] != ':') {
                st_ = State::Done;
                return;
            }
            ++pos_;
            st_ = State::Value;
            break;
        case State::Value: {
            if (!skip_space()) return;
            const char c = buf_[pos_];
            depth_ = 0;
            in_str_ = escaped_ = false;
            if (key_ == "name" && c == '"') {
                const size_t end = string_end(buf_, pos_);
                if (end == std::string::npos) return;
                auto n = nlohmann::json::parse(buf_.substr(pos_, end - pos_), nullptr, false);
                name_ = n.is_string() ? n.get<std::string>() : "";
                pos_ = end;
                st_ = State::SeekKey;
            } else if ((key_ == "arguments" || key_ == "parameters") && !name_.empty() && (c == '{' || c == '[') &&
                       calls_ == names_.size() + 1) {
                // Announced only in order: a call that could not be streamed leaves the later
                // ones to finish() as well, so indices never arrive out of order.
                out.push_back({calls_ - 1, true, name_, ""});
                names_.push_back(name_);
                streamed_.emplace_back();
                st_ = State::Arguments;
            } else {
                st_ = State::SkipValue;
            }
            break;
        }
        case State::Arguments:
        case State::SkipValue: {
            const bool emit = st_ == State::Arguments;
            std::string piece;
            bool ended = false;
            for (; pos_ < buf_.size() && !ended; ++pos_) {
                const char c = buf_[pos_];
                if (in_str_) {
                    if (escaped_) escaped_ = false;
                    else if (c == '\\') escaped_ = true;
                    else if (c == '"') {
                        in_str_ = false;
                        ended = depth_ == 0;  // a string value
                    }
                } else if (c == '"') {
                    in_str_ = true;
                } else if (c == '{' || c == '[') {
                    ++depth_;
                } else if (c == '}' || c == ']' || c == ',') {
                    if (depth_ == 0) {  // a scalar ended at the next member or the object's end
                        ended = true;
                        break;
                    }
                    if (c != ',' && --depth_ == 0) ended = true;
                } else if (is_space(c)) {
                    if (depth_ == 0 && !piece.empty() && !emit) ended = true;
                    continue;
                }
                piece += c;
            }
            if (emit && !piece.empty()) {
                streamed_.back() += piece;
                if (!out.empty() && out.back().index == calls_ - 1) out.back().arguments += piece;
                else out.push_back({calls_ - 1, false, "", piece});
            }
            if (!ended) return;
            st_ = State::SeekKey;
            break;
        }
        case State::Done: return;
        }
    }
}

}  // namespace hearth::chat
