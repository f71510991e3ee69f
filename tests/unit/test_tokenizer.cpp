// The tokenizer against goldens from the Hugging Face `tokenizers` library
// (tools/gen_tokenizer_goldens.py), plus round trips, streaming and special-token rules.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

using hearth::tokenizer::StreamDecoder;
using hearth::tokenizer::Tokenizer;
using hearth::tokenizer::TokenType;
using hearth::tokenizer::VocabData;

namespace {

const std::string kDir = std::string(HEARTH_FIXTURES) + "/tokenizer/";

std::vector<std::string> read_corpus() {
    std::ifstream in(kDir + "corpus.txt");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line).get<std::string>());
    return out;
}

std::vector<int32_t> parse_ids(const std::string& s) {
    std::vector<int32_t> ids;
    std::istringstream ss(s);
    int32_t v;
    while (ss >> v) ids.push_back(v);
    return ids;
}

std::vector<std::vector<int32_t>> read_ids(const std::string& name) {
    std::ifstream in(kDir + name + ".ids");
    std::vector<std::vector<int32_t>> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(parse_ids(line));
    return out;
}

// Line index -> ids, for the goldens with special-token text read as plain text.
std::map<size_t, std::vector<int32_t>> read_nospecial(const std::string& name) {
    std::ifstream in(kDir + name + ".nospecial.ids");
    std::map<size_t, std::vector<int32_t>> out;
    std::string line;
    while (std::getline(in, line)) {
        size_t tab = line.find('\t');
        out[std::stoul(line.substr(0, tab))] = parse_ids(line.substr(tab + 1));
    }
    return out;
}

struct Loaded {
    std::unique_ptr<hearth::format::GGUFFile> file;
    std::unique_ptr<Tokenizer> tok;
};

Loaded load(const std::string& path) {
    Loaded l;
    l.file = hearth::format::GGUFFile::open(path);
    l.tok = Tokenizer::from_gguf(*l.file);
    return l;
}

std::string show(const std::string& s) { return nlohmann::json(s).dump(); }

// Compares every corpus line; reports the agreement figure and the first few differences.
void expect_goldens(const Tokenizer& tok, const std::string& name) {
    auto corpus = read_corpus();
    auto want = read_ids(name);
    ASSERT_GE(corpus.size(), 2000u);
    ASSERT_EQ(corpus.size(), want.size()) << name << ".ids does not match corpus.txt; regenerate the fixtures";

    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::vector<int32_t>> got;
    got.reserve(corpus.size());
    for (const auto& line : corpus) got.push_back(tok.encode(line, false, true));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    size_t equal = 0, shown = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
        if (got[i] == want[i]) {
            ++equal;
        } else if (shown++ < 5) {
            ADD_FAILURE() << name << " line " << i << " " << show(corpus[i]) << "\n got:  "
                          << testing::PrintToString(got[i]) << "\n want: " << testing::PrintToString(want[i]);
        }
    }
    std::printf("[tokenizer] %s: %zu/%zu corpus lines equal to tokenizers; encoded in %.3f s\n", name.c_str(), equal,
                corpus.size(), secs);
    EXPECT_EQ(equal, corpus.size());
    // Generous for slow CI machines; typical is a few tens of milliseconds.
    EXPECT_LT(secs, 1.0) << "encoding the corpus is too slow";

    auto nospecial = read_nospecial(name);
    size_t ns_equal = 0;
    for (const auto& [i, ids] : nospecial) {
        auto g = tok.encode(corpus[i], false, false);
        if (g == ids)
            ++ns_equal;
        else if (shown++ < 8)
            ADD_FAILURE() << name << " (parse_special off) line " << i << " " << show(corpus[i]) << "\n got:  "
                          << testing::PrintToString(g) << "\n want: " << testing::PrintToString(ids);
    }
    std::printf("[tokenizer] %s parse_special=false: %zu/%zu lines equal\n", name.c_str(), ns_equal, nospecial.size());
    EXPECT_EQ(ns_equal, nospecial.size());
}

// decode(encode(x)) == x over the corpus. With parse_special the special tokens must come
// back as their text too, which holds for byte-level BPE (SentencePiece adds a space after them).
void expect_round_trip(const Tokenizer& tok, bool parse_special) {
    size_t ok = 0, shown = 0;
    auto corpus = read_corpus();
    for (const auto& line : corpus) {
        std::string back = tok.decode(tok.encode(line, false, parse_special), true);
        if (back == line)
            ++ok;
        else if (shown++ < 5)
            ADD_FAILURE() << "round trip of " << show(line) << " gave " << show(back);
    }
    EXPECT_EQ(ok, corpus.size());
}

const char* model_path() { return std::getenv("HEARTH_MODEL"); }

}  // namespace

// --------------------------------------------------------------------------- goldens

TEST(TokenizerGolden, Qwen2DefaultModel) {
    if (!model_path()) GTEST_SKIP() << "HEARTH_MODEL is not set (needs the Qwen2.5 GGUF for its vocabulary)";
    auto l = load(model_path());
    EXPECT_EQ(l.tok->model_name(), "gpt2");
    EXPECT_EQ(l.tok->pre_name(), "qwen2");
    expect_goldens(*l.tok, "qwen2");
}

TEST(TokenizerGolden, SmolLM2) {
    auto l = load(kDir + "smollm.gguf");
    EXPECT_EQ(l.tok->pre_name(), "smollm");
    expect_goldens(*l.tok, "smollm");
}

TEST(TokenizerGolden, Llama3Truncated) {
    auto l = load(kDir + "llama-bpe-12k.gguf");
    EXPECT_EQ(l.tok->pre_name(), "llama-bpe");
    expect_goldens(*l.tok, "llama-bpe-12k");
}

TEST(TokenizerGolden, LlamaSentencePiece) {
    auto l = load(kDir + "llama-spm.gguf");
    EXPECT_EQ(l.tok->model_name(), "llama");
    expect_goldens(*l.tok, "llama-spm");
}

// --------------------------------------------------------------------------- round trips

TEST(TokenizerRoundTrip, ByteLevelBpeIsLossless) {
    auto l = load(kDir + "smollm.gguf");
    expect_round_trip(*l.tok, false);
    expect_round_trip(*l.tok, true);
}

TEST(TokenizerRoundTrip, SentencePieceIsLossless) {
    auto l = load(kDir + "llama-spm.gguf");
    expect_round_trip(*l.tok, false);
}

TEST(TokenizerRoundTrip, Qwen2IsLossless) {
    if (!model_path()) GTEST_SKIP() << "HEARTH_MODEL is not set";
    auto l = load(model_path());
    expect_round_trip(*l.tok, false);
    expect_round_trip(*l.tok, true);
}

TEST(TokenizerRoundTrip, InvalidUtf8SurvivesByteLevel) {
    // This vocabulary has all 256 byte characters (SmolLM2's lacks bytes that never occur
    // in valid UTF-8, so it cannot represent them).
    auto l = load(kDir + "llama-bpe-12k.gguf");
    std::string bad = "ok \xff\xfe broken \xe4\xb8 end \xc0\xaf";
    EXPECT_EQ(l.tok->decode(l.tok->encode(bad, false, false)), bad);
}

// --------------------------------------------------------------------------- streaming

TEST(StreamDecoder, HoldsBackSplitCharacters) {
    auto l = load(kDir + "smollm.gguf");
    const Tokenizer& tok = *l.tok;
    // Each CJK character / emoji here is split over several byte-level tokens.
    std::string text = "日本語🦙👨‍👩‍👧 and 中文 ok";
    auto ids = tok.encode(text, false, false);
    StreamDecoder sd(tok);
    std::string all;
    bool saw_partial = false;
    for (int32_t id : ids) {
        std::string piece = tok.token_to_piece(id);
        std::string out = sd.push(id);
        if (out.size() != piece.size()) saw_partial = true;
        // Every emitted chunk is valid UTF-8 on its own.
        EXPECT_TRUE(nlohmann::json::accept(nlohmann::json(out).dump())) << show(out);
        size_t i = 0;
        while (i < out.size()) {
            unsigned char c = static_cast<unsigned char>(out[i]);
            size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            ASSERT_LE(i + n, out.size()) << "chunk ends inside a character: " << show(out);
            for (size_t k = 1; k < n; ++k) ASSERT_EQ(static_cast<unsigned char>(out[i + k]) & 0xC0, 0x80);
            i += n;
        }
        all += out;
    }
    all += sd.flush();
    EXPECT_TRUE(saw_partial) << "the test text should split characters across tokens";
    EXPECT_EQ(all, text);
}

TEST(StreamDecoder, FlushReplacesIncompleteTail) {
    auto l = load(kDir + "llama-spm.gguf");
    const Tokenizer& tok = *l.tok;
    int32_t e4 = -1, b8 = -1;
    for (int32_t i = 0; i < tok.n_vocab(); ++i) {
        if (tok.token_text(i) == "<0xE4>") e4 = i;
        if (tok.token_text(i) == "<0xB8>") b8 = i;
    }
    ASSERT_GE(e4, 0);
    ASSERT_GE(b8, 0);
    StreamDecoder sd(tok);
    EXPECT_EQ(sd.push(e4), "");
    EXPECT_EQ(sd.push(b8), "");
    EXPECT_EQ(sd.flush(), "\xef\xbf\xbd\xef\xbf\xbd");
    // A stray continuation byte is invalid at once and is not held back.
    StreamDecoder sd2(tok);
    EXPECT_EQ(sd2.push(b8), "\xef\xbf\xbd");
}

// --------------------------------------------------------------------------- special tokens

TEST(TokenizerSpecial, ParseSpecialOnAndOff) {
    auto l = load(kDir + "smollm.gguf");
    const Tokenizer& tok = *l.tok;
    const int32_t im_start = 1, im_end = 2;  // SmolLM2: <|im_start|>, <|im_end|>
    ASSERT_EQ(tok.token_text(im_start), "<|im_start|>");
    ASSERT_EQ(tok.token_type(im_start), TokenType::Control);
    auto on = tok.encode("<|im_start|>user hi<|im_end|>", false, true);
    ASSERT_GE(on.size(), 3u);
    EXPECT_EQ(on.front(), im_start);
    EXPECT_EQ(on.back(), im_end);
    auto off = tok.encode("<|im_start|>user hi<|im_end|>", false, false);
    for (int32_t id : off) EXPECT_NE(tok.token_type(id), TokenType::Control);
    EXPECT_EQ(tok.decode(off), "<|im_start|>user hi<|im_end|>");
    // Control tokens print only when asked to.
    EXPECT_EQ(tok.decode(on, false), "user hi");
    EXPECT_EQ(tok.decode(on, true), "<|im_start|>user hi<|im_end|>");
}

TEST(TokenizerSpecial, BosFollowsMetadataAndDefaults) {
    auto spm = load(kDir + "llama-spm.gguf");
    auto ids = spm.tok->encode("Hello", true, false);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), spm.tok->bos_id());  // SentencePiece adds BOS by default
    EXPECT_NE(spm.tok->encode("Hello", false, false).front(), spm.tok->bos_id());
    EXPECT_EQ(spm.tok->encode("", true, false), std::vector<int32_t>{spm.tok->bos_id()});

    auto smol = load(kDir + "smollm.gguf");  // tokenizer.ggml.add_bos_token = false
    EXPECT_EQ(smol.tok->encode("Hello", true, false), smol.tok->encode("Hello", false, false));

    auto llama3 = load(kDir + "llama-bpe-12k.gguf");  // no add_bos key: the llama-bpe default adds it
    auto l3 = llama3.tok->encode("Hello", true, false);
    ASSERT_FALSE(l3.empty());
    EXPECT_EQ(l3.front(), llama3.tok->bos_id());
    EXPECT_EQ(llama3.tok->token_text(llama3.tok->bos_id()), "<|begin_of_text|>");
}

TEST(TokenizerSpecial, EndOfGeneration) {
    auto smol = load(kDir + "smollm.gguf");
    EXPECT_TRUE(smol.tok->is_eog(smol.tok->eos_id()));
    EXPECT_TRUE(smol.tok->is_eog(0));  // <|endoftext|>
    EXPECT_FALSE(smol.tok->is_eog(1));  // <|im_start|>
    EXPECT_FALSE(smol.tok->is_eog(100));

    auto llama3 = load(kDir + "llama-bpe-12k.gguf");
    int32_t eot = -1;
    for (int32_t i = 0; i < llama3.tok->n_vocab(); ++i)
        if (llama3.tok->token_text(i) == "<|eot_id|>") eot = i;
    ASSERT_GE(eot, 0);
    EXPECT_TRUE(llama3.tok->is_eog(eot));
    EXPECT_FALSE(llama3.tok->is_eog(llama3.tok->bos_id()));

    if (model_path()) {
        auto q = load(model_path());
        for (const char* t : {"<|im_end|>", "<|endoftext|>"}) {
            auto ids = q.tok->encode(t, false, true);
            ASSERT_EQ(ids.size(), 1u) << t;
            EXPECT_TRUE(q.tok->is_eog(ids[0])) << t;
        }
        auto im_start = q.tok->encode("<|im_start|>", false, true);
        ASSERT_EQ(im_start.size(), 1u);
        EXPECT_FALSE(q.tok->is_eog(im_start[0]));
    }
}

// --------------------------------------------------------------------------- errors

namespace {
VocabData tiny_bpe(const std::string& pre) {
    VocabData d;
    d.model = "gpt2";
    d.pre = pre;
    d.tokens = {"a", "b", "ab"};
    d.merges = {"a b"};
    return d;
}
}  // namespace

TEST(TokenizerErrors, UnsupportedPreListsSupported) {
    try {
        hearth::tokenizer::make_tokenizer(tiny_bpe("klingon"), "test.gguf");
        FAIL() << "expected an error";
    } catch (const hearth::Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("test.gguf"), std::string::npos) << msg;
        EXPECT_NE(msg.find("klingon"), std::string::npos) << msg;
        for (const char* name : {"qwen2", "llama-bpe", "deepseek-llm", "deepseek-v3", "smollm", "gpt-2", "default"})
            EXPECT_NE(msg.find(name), std::string::npos) << name << " missing from: " << msg;
    }
}

TEST(TokenizerErrors, UnsupportedModelAndBadMetadata) {
    auto d = tiny_bpe("gpt-2");
    d.model = "wordpiece";
    EXPECT_THROW(hearth::tokenizer::make_tokenizer(d, "x"), hearth::Error);
    d = tiny_bpe("gpt-2");
    d.types = {TokenType::Normal};  // wrong length
    EXPECT_THROW(hearth::tokenizer::make_tokenizer(d, "x"), hearth::Error);
    d = tiny_bpe("gpt-2");
    d.eos_id = 7;  // outside the vocabulary
    EXPECT_THROW(hearth::tokenizer::make_tokenizer(d, "x"), hearth::Error);
    d = tiny_bpe("gpt-2");
    d.merges = {"ab"};  // not a pair
    EXPECT_THROW(hearth::tokenizer::make_tokenizer(d, "x"), hearth::Error);
    d = tiny_bpe("gpt-2");
    d.add_bos = true;  // but no BOS id
    EXPECT_THROW(hearth::tokenizer::make_tokenizer(d, "x"), hearth::Error);
}

TEST(TokenizerErrors, EveryListedPreBuilds) {
    for (const char* pre : {"qwen2", "llama-bpe", "deepseek-llm", "deepseek-v3", "deepseek-coder", "smollm", "gpt-2",
                            "default", "starcoder", "stablelm2"}) {
        auto d = tiny_bpe(pre);
        d.bos_id = 0;
        auto tok = hearth::tokenizer::make_tokenizer(d, "x");
        EXPECT_EQ(tok->encode("ab", false, false), std::vector<int32_t>{2}) << pre;
    }
}

// Built from plain data, no file: the merge order decides, not the vocabulary order.
TEST(TokenizerUnit, MergesApplyByRank) {
    VocabData d;
    d.model = "gpt2";
    d.pre = "gpt-2";
    d.tokens = {"a", "b", "c", "ab", "bc", "abc"};
    d.merges = {"b c", "a b", "a bc"};
    auto tok = hearth::tokenizer::make_tokenizer(d, "x");
    // "b c" ranks first, so "abc" is a + bc -> abc, never ab + c.
    EXPECT_EQ(tok->encode("abc", false, false), std::vector<int32_t>{5});
    EXPECT_EQ(tok->encode("ab", false, false), std::vector<int32_t>{3});
    EXPECT_EQ(tok->encode("cab", false, false), (std::vector<int32_t>{2, 3}));
}

// llama.cpp's models/ggml-vocab-*.gguf with the .inp/.out pairs that its update script
// produced with each family's real tokenizer.json. Too large to commit; point
// HEARTH_LLAMACPP_VOCABS at that folder (see tools/gen_tokenizer_goldens.py for where to get it).
TEST(TokenizerGolden, LlamaCppVocabFiles) {
    const char* dir = std::getenv("HEARTH_LLAMACPP_VOCABS");
    if (!dir) GTEST_SKIP() << "HEARTH_LLAMACPP_VOCABS is not set (llama.cpp's models/ folder with ggml-vocab-*.gguf)";
    const char* const names[] = {"qwen2",        "llama-bpe",    "llama-spm", "gpt-2",
                                 "deepseek-llm", "deepseek-coder", "starcoder", "refact"};
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (const char* name : names) {
        std::string base = std::string(dir) + "/ggml-vocab-" + name + ".gguf";
        std::ifstream inp(base + ".inp"), outp(base + ".out");
        if (!inp || !outp) {
            ADD_FAILURE() << "missing " << base << ".inp/.out";
            continue;
        }
        std::stringstream ss;
        ss << inp.rdbuf();
        std::string all = ss.str();
        std::vector<std::string> texts;
        for (size_t pos = 0;;) {
            size_t next = all.find(sep, pos);
            if (next == std::string::npos) {
                std::string last = all.substr(pos);
                const std::string tail = "\n__ggml_vocab_test__";
                if (last.size() >= tail.size() && last.compare(last.size() - tail.size(), tail.size(), tail) == 0)
                    last.resize(last.size() - tail.size());
                texts.push_back(last);
                break;
            }
            texts.push_back(all.substr(pos, next - pos));
            pos = next + sep.size();
        }
        auto l = load(base);
        size_t equal = 0, n = 0;
        std::string line;
        for (const auto& text : texts) {
            if (!std::getline(outp, line)) break;
            ++n;
            auto got = l.tok->encode(text, false, false);
            if (got == parse_ids(line))
                ++equal;
            else
                ADD_FAILURE() << name << ": " << show(text) << "\n got:  " << testing::PrintToString(got)
                              << "\n want: " << line;
        }
        std::printf("[tokenizer] llama.cpp %s: %zu/%zu test strings equal\n", name, equal, n);
    }
}
