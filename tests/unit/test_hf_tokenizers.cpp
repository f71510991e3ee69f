// tokenizer.json files of families whose real files are too large to commit, imported the way
// a Hugging Face directory's tokenizer is (hf::import_tokenizer) and compared with the
// `tokenizers` library's ids on the multilingual corpus (tools/make_hf_tokenizer_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.h"
#include "format/gguf.h"
#include "format/hf_import_detail.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fixtures() { return fs::path(HEARTH_FIXTURES); }

std::vector<std::string> corpus() {
    std::ifstream in(fixtures() / "tokenizer" / "corpus.txt");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(json::parse(line).get<std::string>());
    return out;
}

std::vector<std::vector<int32_t>> golden_ids(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::vector<int32_t>> out;
    for (std::string line; std::getline(in, line);) {
        std::istringstream ss(line);
        std::vector<int32_t> ids;
        for (int32_t id; ss >> id;) ids.push_back(id);
        out.push_back(std::move(ids));
    }
    return out;
}

// The tokenizer metadata a directory holding only these tokenizer files would import to.
std::unique_ptr<hearth::format::GGUFFile> import_dir(const fs::path& dir, int64_t n_vocab) {
    const json config = json::object();
    hearth::format::hf::JsonObject cfg(config, (dir / "config.json").string());
    hearth::format::hf::Metadata kv;
    std::vector<fs::path> used;
    hearth::format::hf::import_tokenizer(dir, cfg, n_vocab, kv, used);
    return hearth::format::GGUFFile::from_memory(dir.string(), 0, std::move(kv), {}, {});
}

// Encodes every corpus line and compares with the reference ids in dir/ids.txt; returns how
// many lines differ (the first five are reported). `each` sees every line's ids.
size_t corpus_mismatches(const hearth::tokenizer::Tokenizer& tok, const fs::path& dir,
                         const std::function<void(const std::vector<int32_t>&)>& each = {}) {
    const auto lines = corpus();
    const auto want = golden_ids(dir / "ids.txt");
    EXPECT_EQ(lines.size(), want.size());
    EXPECT_GT(lines.size(), 2000u);
    size_t bad = 0;
    for (size_t i = 0; i < std::min(lines.size(), want.size()); ++i) {
        const auto got = tok.encode(lines[i], false, true);
        if (got != want[i] && ++bad <= 5) ADD_FAILURE() << dir.filename() << " line " << i << ": " << json(lines[i]).dump();
        if (each) each(got);
    }
    return bad;
}

}  // namespace

TEST(HfTokenizers, Glm4IdsEqualTokenizersLibraryOnTheCorpus) {
    const fs::path dir = fixtures() / "tokenizer_hf" / "glm4";
    auto f = import_dir(dir, 3014);
    EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "chatglm-bpe");
    auto tok = hearth::tokenizer::Tokenizer::from_gguf(*f);
    EXPECT_EQ(corpus_mismatches(*tok, dir), 0u);
    // GLM's control tokens stay whole, and there is no BOS to add.
    const auto ids = tok->encode("[gMASK]<sop><|user|>\nhi", true, true);
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(tok->token_to_piece(ids[0], true), "[gMASK]");
    EXPECT_EQ(tok->token_to_piece(ids[2], true), "<|user|>");
    EXPECT_FALSE(f->get_bool("tokenizer.ggml.add_bos_token"));
}

// Kimi-K2's tiktoken.model against tiktoken itself (Kimi's split pattern, a 2,000-rank file).
TEST(HfTokenizers, KimiTiktokenIdsEqualTiktokenOnTheCorpus) {
    const fs::path dir = fixtures() / "tokenizer_hf" / "kimi";
    auto f = import_dir(dir, 2000 + 256);
    EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "kimi-k2");
    auto tok = hearth::tokenizer::Tokenizer::from_gguf(*f);
    EXPECT_EQ(corpus_mismatches(*tok, dir), 0u);
    EXPECT_EQ(tok->token_to_piece(static_cast<int32_t>(f->get_int("tokenizer.ggml.bos_token_id")), true), "[BOS]");
    EXPECT_EQ(tok->token_to_piece(2000 + 5, true), "<|reserved_token_2005|>");
}

// A tiktoken.model that is not Kimi's, or is malformed, is refused with the file and line.
TEST(HfTokenizers, BadTiktokenFilesAreNamed) {
    const fs::path src = fixtures() / "tokenizer_hf" / "kimi";
    const fs::path dir = fs::path(::testing::TempDir()) / "kimi_bad";
    auto expect_error = [&](const std::string& tiktoken_text, const std::string& want) {
        fs::remove_all(dir);
        fs::create_directories(dir);
        fs::copy_file(src / "tokenizer_config.json", dir / "tokenizer_config.json");
        std::ofstream(dir / "tiktoken.model") << tiktoken_text;
        try {
            import_dir(dir, 2256);
            ADD_FAILURE() << "no error for " << want;
        } catch (const hearth::Error& e) {
            EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
        }
    };
    expect_error("QQ== 0\n!!!! 1\n", "line 2 is not \"<base64 token> <rank>\"");
    expect_error("QQ== 0\nQg== x\n", "line 2: the rank is not a non-negative integer");
    expect_error("QQ== 0\nQQ== 1\n", "line 2: the token appears twice");
    expect_error("QQ== 0\nQg== 5\n", "ranks are not dense");
    expect_error("QQ== 0\nQg== 1\n", "has no token; every byte needs one");
    std::ofstream(dir / "tokenizer_config.json") << "{}";
    try {
        import_dir(dir, 2256);
        ADD_FAILURE() << "a tiktoken file without Kimi's tokenizer class was accepted";
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("split pattern is unknown"), std::string::npos) << e.what();
    }
}

// A SentencePiece-style Unigram tokenizer.json (Metaspace, byte fallback; trained without the
// CJK lines, so those characters fall back to bytes) against the `tokenizers` library.
TEST(HfTokenizers, UnigramIdsEqualTokenizersLibraryOnTheCorpus) {
    const fs::path dir = fixtures() / "tokenizer_hf" / "unigram";
    auto f = import_dir(dir, 1500);
    EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "t5");
    auto tok = hearth::tokenizer::Tokenizer::from_gguf(*f);
    size_t byte_tokens = 0;
    EXPECT_EQ(corpus_mismatches(*tok, dir,
                                [&](const std::vector<int32_t>& ids) {
                                    for (int32_t id : ids)
                                        byte_tokens += tok->token_type(id) == hearth::tokenizer::TokenType::Byte;
                                }),
              0u);
    EXPECT_GT(byte_tokens, 100u);  // the byte fallback was exercised
    EXPECT_EQ(tok->decode(tok->encode("Hello  world, caf\xc3\xa9!", false, false)), "Hello  world, caf\xc3\xa9!");
}

TEST(HfTokenizers, UnigramGgufWithACharsmapIsRefused) {
    const fs::path dir = fixtures() / "tokenizer_hf" / "unigram";
    const json config = json::object();
    hearth::format::hf::JsonObject cfg(config, "config.json");
    hearth::format::hf::Metadata kv;
    std::vector<fs::path> used;
    hearth::format::hf::import_tokenizer(dir, cfg, 1500, kv, used);
    kv["tokenizer.ggml.precompiled_charsmap"] = hearth::format::hf::i32_array({1, 2, 3});
    auto f = hearth::format::GGUFFile::from_memory("t5.gguf", 0, std::move(kv), {}, {});
    try {
        hearth::tokenizer::Tokenizer::from_gguf(*f);
        ADD_FAILURE() << "accepted";
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("precompiled_charsmap"), std::string::npos) << e.what();
    }
}

TEST(HfTokenizers, UnigramWithACharsmapNormalizerIsRefused) {
    const fs::path src = fixtures() / "tokenizer_hf" / "unigram";
    const fs::path dir = fs::path(::testing::TempDir()) / "unigram_precompiled";
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(src / "tokenizer_config.json", dir / "tokenizer_config.json");
    json tj = json::parse(std::ifstream(src / "tokenizer.json"));
    tj["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}};
    std::ofstream(dir / "tokenizer.json") << tj.dump();
    try {
        import_dir(dir, 1500);
        ADD_FAILURE() << "accepted";
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("normalizer \"Precompiled\" on a Unigram model is not supported"),
                  std::string::npos)
            << e.what();
    }
}
