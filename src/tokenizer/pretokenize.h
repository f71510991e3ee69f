#pragma once
// Pre-tokenization: splitting text into words before BPE, with the regexes of each model
// family's tokenizer.json. Several patterns apply in sequence (each splits the pieces of the
// previous one); text between matches is kept as pieces of its own ("Isolated" in the
// `tokenizers` library), so no byte is ever lost.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

struct PreConfig {
    std::vector<std::string> patterns;  // PCRE2 syntax, compiled with UTF + UCP
    bool ignore_merges = false;         // a whole word found in the vocabulary is one token
    bool default_add_bos = false;
};

// nullopt for an unknown pre name.
std::optional<PreConfig> pre_config(std::string_view pre);
// The names pre_config() knows, comma separated.
std::string pre_names();

class PreTokenizer {
public:
    explicit PreTokenizer(const std::vector<std::string>& patterns);
    ~PreTokenizer();
    PreTokenizer(const PreTokenizer&) = delete;
    PreTokenizer& operator=(const PreTokenizer&) = delete;

    // Appends the pieces of `text` (views into it) to `out`.
    void split(std::string_view text, std::vector<std::string_view>& out) const;

private:
    struct Compiled;
    std::vector<std::unique_ptr<Compiled>> regexes_;
};

}  // namespace hearth::tokenizer
