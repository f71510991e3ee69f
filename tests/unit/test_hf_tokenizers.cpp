// tokenizer.json files of families whose real files are too large to commit, imported the way
// a Hugging Face directory's tokenizer is (hf::import_tokenizer) and compared with the
// `tokenizers` library's ids on the multilingual corpus (tools/make_hf_tokenizer_fixtures.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace

TEST(HfTokenizers, Glm4IdsEqualTokenizersLibraryOnTheCorpus) {
    const fs::path dir = fixtures() / "tokenizer_hf" / "glm4";
    auto f = import_dir(dir, 3014);
    EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "chatglm-bpe");
    auto tok = hearth::tokenizer::Tokenizer::from_gguf(*f);
    const auto lines = corpus();
    const auto want = golden_ids(dir / "ids.txt");
    ASSERT_EQ(lines.size(), want.size());
    ASSERT_GT(lines.size(), 2000u);
    size_t bad = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto got = tok->encode(lines[i], false, true);
        if (got != want[i] && ++bad <= 5) ADD_FAILURE() << "line " << i << ": " << json(lines[i]).dump();
    }
    EXPECT_EQ(bad, 0u);
    // GLM's control tokens stay whole, and there is no BOS to add.
    const auto ids = tok->encode("[gMASK]<sop><|user|>\nhi", true, true);
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(tok->token_to_piece(ids[0], true), "[gMASK]");
    EXPECT_EQ(tok->token_to_piece(ids[2], true), "<|user|>");
    EXPECT_FALSE(f->get_bool("tokenizer.ggml.add_bos_token"));
}
