// tokenizer.json (a `tokenizers` byte-level BPE) + tokenizer_config.json -> tokenizer.ggml.*.
// The pre-tokenizer is identified by its regexes: the tokenizer.json's Split/Digits/ByteLevel
// steps are turned into the list of patterns they apply, and the hearth pre-tokenizer family
// with exactly that list (and the same ignore_merges) is named in tokenizer.ggml.pre, so the
// splitting hearth runs is the one the file states.
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "format/hf_import_detail.h"
#include "tokenizer/pretokenize.h"

namespace hearth::format::hf {
namespace {

namespace fs = std::filesystem;


// Non-ASCII code points written as \x{HEX} (and control characters as escapes), so "[一-龥]" in a tokenizer.json and
// "[\x{4E00}-\x{9FA5}]" in hearth's table compare equal.
std::string canonical_regex(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        // A literal CR/LF/TAB (JSON "\r" decodes to one) matches what the \r escape matches.
        if (c == '\r' || c == '\n' || c == '\t') {
            out += c == '\r' ? "\\r" : c == '\n' ? "\\n" : "\\t";
            ++i;
            continue;
        }
        if (len <= 1 || i + static_cast<size_t>(len) > s.size()) {
            out += s[i++];
            continue;
        }
        uint32_t cp = c & (0x7F >> len);
        for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\x{%X}", cp);
        out += buf;
        i += static_cast<size_t>(len);
    }
    return out;
}

[[noreturn]] void fail(const fs::path& p, const std::string& what) { throw Error(p.string() + ": " + what); }

// Appends the regexes a pre_tokenizer node applies, in order.
void collect_patterns(const json& node, const fs::path& file, std::vector<std::string>& out, bool& byte_level) {
    if (node.is_null()) return;
    if (!node.is_object() || !node.contains("type") || !node["type"].is_string())
        fail(file, "pre_tokenizer entry without a \"type\"");
    const std::string type = node["type"].get<std::string>();
    if (type == "Sequence") {
        auto it = node.find("pretokenizers");
        if (it == node.end() || !it->is_array()) fail(file, "pre_tokenizer Sequence without a \"pretokenizers\" list");
        for (const auto& child : *it) collect_patterns(child, file, out, byte_level);
    } else if (type == "ByteLevel") {
        byte_level = true;
        if (node.value("add_prefix_space", false)) fail(file, "ByteLevel pre_tokenizer with add_prefix_space is not supported");
        if (node.value("use_regex", true)) out.push_back(tokenizer::pre_config("gpt-2")->patterns.at(0));
    } else if (type == "Split") {
        auto pat = node.find("pattern");
        if (pat == node.end() || !pat->is_object() || !pat->contains("Regex") || !(*pat)["Regex"].is_string())
            fail(file, "Split pre_tokenizer without a {\"Regex\": ...} pattern (string patterns are not supported)");
        if (node.value("behavior", std::string("Isolated")) != "Isolated" || node.value("invert", false))
            fail(file, "Split pre_tokenizer must use behavior Isolated without invert");
        out.push_back((*pat)["Regex"].get<std::string>());
    } else if (type == "Digits") {
        out.push_back(node.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
    } else {
        fail(file, "pre_tokenizer type \"" + type + "\" is not supported (supported: Sequence, ByteLevel, Split, Digits)");
    }
}

std::string choose_pre(const std::vector<std::string>& patterns, bool ignore_merges, const fs::path& file) {
    std::vector<std::string> want;
    for (const auto& p : patterns) want.push_back(canonical_regex(p));
    const std::string names = tokenizer::pre_names();
    size_t start = 0;
    while (start < names.size()) {
        size_t end = names.find(',', start);
        if (end == std::string::npos) end = names.size();
        std::string name = names.substr(start, end - start);
        while (!name.empty() && name.front() == ' ') name.erase(name.begin());
        start = end + 1;
        if (name == "default") continue;  // llama.cpp's fallback, not a tokenizer.json configuration
        auto cfg = tokenizer::pre_config(name);
        if (!cfg || cfg->ignore_merges != ignore_merges || cfg->patterns.size() != want.size()) continue;
        bool same = true;
        for (size_t i = 0; i < want.size() && same; ++i) same = canonical_regex(cfg->patterns[i]) == want[i];
        if (same) return name;
    }
    std::string list;
    for (const auto& p : patterns) list += "\n  " + p;
    fail(file, "the pre-tokenizer (ignore_merges " + std::string(ignore_merges ? "true" : "false") +
                   ", regexes:" + (list.empty() ? std::string(" none") : list) +
                   ") matches none of hearth's pre-tokenizers (" + names + ")");
}

// A special token as tokenizer_config.json writes it: a string or {"content": ...}.
std::string token_text(const json* v) {
    if (!v) return "";
    if (v->is_string()) return v->get<std::string>();
    if (v->is_object() && v->contains("content") && (*v)["content"].is_string()) return (*v)["content"].get<std::string>();
    return "";
}

// BOS/EOS the post-processor adds: the special tokens before/after the sequence in `single`.
void template_specials(const json& pp, std::string& bos, std::string& eos) {
    if (!pp.is_object()) return;
    const std::string type = pp.value("type", std::string());
    if (type == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
        for (const auto& p : pp["processors"]) template_specials(p, bos, eos);
    } else if (type == "TemplateProcessing" && pp.contains("single") && pp["single"].is_array() && !pp["single"].empty()) {
        const json& single = pp["single"];
        auto special = [](const json& piece) -> std::string {
            if (piece.is_object() && piece.contains("SpecialToken") && piece["SpecialToken"].is_object())
                return piece["SpecialToken"].value("id", std::string());
            return "";
        };
        bos = special(single.front());
        if (single.size() > 1) eos = special(single.back());
    }
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) fail(p, "cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

void import_tokenizer(const fs::path& dir, const JsonObject& config, int64_t n_vocab, Metadata& kv,
                      std::vector<fs::path>& used) {
    const fs::path tj_path = dir / "tokenizer.json";
    if (!fs::exists(tj_path)) {
        if (fs::exists(dir / "tiktoken.model")) return import_tiktoken(dir, config, n_vocab, kv, used);
        fail(dir, "no tokenizer.json (hearth imports the `tokenizers` format, and Kimi's tiktoken.model; other "
                  "slow-tokenizer files alone are not enough)");
    }
    const json tj = read_json(tj_path);
    used.push_back(tj_path);

    const json* model = tj.contains("model") && tj["model"].is_object() ? &tj["model"] : nullptr;
    if (!model) fail(tj_path, "\"model\" is missing");
    const std::string mtype = model->value("type", std::string("BPE"));
    if (mtype == "Unigram") return import_unigram(dir, tj, tj_path, config, n_vocab, kv, used);
    if (mtype != "BPE")
        fail(tj_path, "model type \"" + mtype + "\" is not supported (supported: byte-level BPE, Unigram)");
    if (model->value("byte_fallback", false))
        fail(tj_path, "BPE with byte_fallback (SentencePiece-style) is not supported; only byte-level BPE is");
    const bool ignore_merges = model->value("ignore_merges", false);

    // Vocabulary, padded to the embedding rows.
    std::vector<std::string> tokens(static_cast<size_t>(n_vocab));
    std::vector<int32_t> types(static_cast<size_t>(n_vocab), kTokenUnused);
    std::vector<bool> filled(static_cast<size_t>(n_vocab), false);
    std::map<std::string, int32_t> ids;
    auto place = [&](const std::string& tok, const json& idv, int32_t type, bool may_replace) {
        if (!idv.is_number_integer() || idv.get<int64_t>() < 0)
            fail(tj_path, "token \"" + tok.substr(0, 40) + "\" has a bad id " + idv.dump().substr(0, 20));
        const int64_t id = idv.get<int64_t>();
        if (id >= n_vocab)
            fail(tj_path, "token \"" + tok.substr(0, 40) + "\" has id " + std::to_string(id) +
                              ", beyond config.json's vocab_size " + std::to_string(n_vocab));
        const auto i = static_cast<size_t>(id);
        if (filled[i] && !may_replace) fail(tj_path, "two tokens share id " + std::to_string(id));
        tokens[i] = tok;
        types[i] = type;
        filled[i] = true;
        ids[tok] = static_cast<int32_t>(id);
    };
    const json* vocab = model->contains("vocab") ? &(*model)["vocab"] : nullptr;
    if (!vocab || !vocab->is_object()) fail(tj_path, "model.vocab is missing or not an object");
    for (const auto& [tok, idv] : vocab->items()) place(tok, idv, kTokenNormal, false);
    if (tj.contains("added_tokens")) {
        if (!tj["added_tokens"].is_array()) fail(tj_path, "added_tokens is not an array");
        for (const auto& a : tj["added_tokens"]) {
            if (!a.is_object() || !a.contains("content") || !a["content"].is_string() || !a.contains("id"))
                fail(tj_path, "an added_tokens entry lacks content or id");
            place(a["content"].get<std::string>(), a["id"], a.value("special", false) ? kTokenControl : kTokenUserDefined, true);
        }
    }
    for (size_t i = 0; i < tokens.size(); ++i)
        if (!filled[i]) tokens[i] = "[PAD" + std::to_string(i) + "]";

    std::vector<std::string> merges;
    if (model->contains("merges")) {
        const json& m = (*model)["merges"];
        if (!m.is_array()) fail(tj_path, "model.merges is not an array");
        merges.reserve(m.size());
        for (const auto& e : m) {
            if (e.is_string()) {
                merges.push_back(e.get<std::string>());
            } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
                merges.push_back(e[0].get<std::string>() + " " + e[1].get<std::string>());
            } else {
                fail(tj_path, "model.merges holds an entry that is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }
    }

    // Pre-tokenizer and normalizer.
    std::vector<std::string> patterns;
    bool byte_level = false;
    if (tj.contains("pre_tokenizer")) collect_patterns(tj["pre_tokenizer"], tj_path, patterns, byte_level);
    if (!byte_level) fail(tj_path, "the pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
    if (tj.contains("normalizer") && !tj["normalizer"].is_null()) {
        // NFC leaves the text of every supported model as is in practice, and llama.cpp skips it too.
        const std::string nt = tj["normalizer"].is_object() ? tj["normalizer"].value("type", std::string()) : "";
        if (nt != "NFC") fail(tj_path, "normalizer \"" + nt + "\" is not supported (only none or NFC)");
    }

    std::string pp_bos, pp_eos;
    if (tj.contains("post_processor")) template_specials(tj["post_processor"], pp_bos, pp_eos);
    ImportedVocab v;
    v.tokens = std::move(tokens);
    v.types = std::move(types);
    v.ids = std::move(ids);
    v.merges = std::move(merges);
    v.pre = choose_pre(patterns, ignore_merges, tj_path);
    v.pp_bos = pp_bos;
    v.pp_eos = pp_eos;
    write_vocab(dir, config, n_vocab, std::move(v), kv, used);
}

void write_vocab(const fs::path& dir, const JsonObject& config, int64_t n_vocab, ImportedVocab v, Metadata& kv,
                 std::vector<fs::path>& used) {
    kv["tokenizer.ggml.model"] = str(v.model);
    if (v.model == "gpt2") {
        kv["tokenizer.ggml.pre"] = str(v.pre);
        kv["tokenizer.ggml.merges"] = str_array(std::move(v.merges));
    } else {
        kv["tokenizer.ggml.scores"] = f64_array(v.scores);
        kv["tokenizer.ggml.add_space_prefix"] = boolean(v.add_space_prefix);
    }
    const std::string& pp_bos = v.pp_bos;
    const std::string& pp_eos = v.pp_eos;
    const auto& ids = v.ids;

    // Special tokens: tokenizer_config.json first, then config.json's ids, as the converter does.
    json tc = json::object();
    const fs::path tc_path = dir / "tokenizer_config.json";
    if (fs::exists(tc_path)) {
        tc = read_json(tc_path);
        used.push_back(tc_path);
    }
    const JsonObject tco(tc, tc_path.string());
    auto id_of_text = [&](const std::string& text, const char* what) -> int64_t {
        if (text.empty()) return -1;
        auto it = ids.find(text);
        if (it == ids.end()) fail(tc_path, std::string(what) + " \"" + text + "\" is not in the vocabulary");
        return it->second;
    };
    auto config_id = [&](const char* key) -> int64_t {
        const json* v = config.get(key);
        if (v && v->is_array()) return v->empty() ? -1 : JsonObject(json{{"v", (*v)[0]}}, config.file()).i("v");
        return config.i(key, -1);
    };
    int64_t bos = id_of_text(token_text(tco.get("bos_token")), "bos_token");
    if (bos < 0) bos = config_id("bos_token_id");
    if (bos < 0 && !pp_bos.empty()) bos = id_of_text(pp_bos, "post_processor BOS");
    int64_t eos = id_of_text(token_text(tco.get("eos_token")), "eos_token");
    if (eos < 0) eos = config_id("eos_token_id");
    const int64_t pad = id_of_text(token_text(tco.get("pad_token")), "pad_token");
    const int64_t unk = id_of_text(token_text(tco.get("unk_token")), "unk_token");
    auto put_id = [&](const char* key, int64_t id) {
        if (id < 0) return;
        if (id >= n_vocab) fail(config.file(), std::string(key) + " " + std::to_string(id) + " is outside the vocabulary");
        kv[std::string("tokenizer.ggml.") + key] = u32(static_cast<uint64_t>(id));
    };
    put_id("bos_token_id", bos);
    put_id("eos_token_id", eos);
    put_id("padding_token_id", pad);
    put_id("unknown_token_id", unk);
    // What the `tokenizers` post-processor adds, unless tokenizer_config.json says otherwise.
    kv["tokenizer.ggml.add_bos_token"] = boolean(tco.b("add_bos_token", !pp_bos.empty()));
    kv["tokenizer.ggml.add_eos_token"] = boolean(tco.b("add_eos_token", !pp_eos.empty()));

    kv["tokenizer.ggml.tokens"] = str_array(std::move(v.tokens));
    kv["tokenizer.ggml.token_type"] = i32_array(v.types);

    // Chat template: tokenizer_config.json, else chat_template.jinja (newer transformers).
    if (const json* ct = tco.get("chat_template")) {
        if (ct->is_string()) {
            kv["tokenizer.chat_template"] = str(ct->get<std::string>());
        } else if (ct->is_array()) {
            for (const auto& e : *ct) {
                if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
                    !e["template"].is_string())
                    fail(tc_path, "chat_template list entries must be {\"name\", \"template\"} strings");
                const std::string name = e["name"].get<std::string>();
                kv[name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name] =
                    str(e["template"].get<std::string>());
            }
        } else {
            fail(tc_path, "chat_template must be a string or a list of named templates");
        }
    } else if (fs::exists(dir / "chat_template.jinja")) {
        kv["tokenizer.chat_template"] = str(read_text(dir / "chat_template.jinja"));
        used.push_back(dir / "chat_template.jinja");
    }
}

}  // namespace hearth::format::hf
