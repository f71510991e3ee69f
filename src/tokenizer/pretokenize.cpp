#include "tokenizer/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <utility>

#include "core/error.h"

namespace hearth::tokenizer {

namespace {

// GPT-2's word splitter, also the `tokenizers` ByteLevel pre-tokenizer with use_regex=true.
const char* const kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Qwen2 and Llama 3 differ only in how many digits make one piece.
const char* const kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// DeepSeek LLM spells its letter class out code point by code point (cased letters of
// many scripts, but not CJK, which has its own pattern below).
const char* const kDeepseekLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})"
    R"(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1})"
    R"(\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})"
    R"(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A})"
    R"(\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})"
    R"(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC})"
    R"(\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134})"
    R"(\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})"
    R"(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})"
    R"(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})"
    R"(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";

struct Family {
    const char* name;
    PreConfig (*make)();
};

PreConfig single(const char* pattern, bool ignore_merges = false, bool add_bos = false) {
    return PreConfig{{pattern}, ignore_merges, add_bos};
}

// Kimi-K2 (tokenization_kimi.py): letters split off Han, whose runs are pieces of their own.
// The original writes "letters but not Han" as a class intersection ([...&&[^\p{Han}]]),
// which PCRE2 10.42 lacks; a negative lookahead before the class matches the same characters
// ((?:(?!\p{sc:Han})[...]) below). \p{sc:Han}: the Script property, as tiktoken's regex reads
// \p{Han}; PCRE2's bare \p{Han} also takes Script_Extensions (CJK punctuation such as 。).
const char* const kKimiK2 =
    R"([\p{sc:Han}]+)"
    R"(|[^\r\n\p{L}\p{N}]?(?:(?!\p{sc:Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])*(?:(?!\p{sc:Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])+)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?(?:(?!\p{sc:Han})[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])+(?:(?!\p{sc:Han})[\p{Ll}\p{Lm}\p{Lo}\p{M}])*)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::array<Family, 16> kFamilies = {{
    {"qwen2", [] { return single(kQwen2); }},
    {"stablelm2", [] { return single(kQwen2); }},
    // Llama 3's tokenizer.json sets ignore_merges, and its GGUF files expect a BOS.
    {"llama-bpe", [] { return single(kLlama3, true, true); }},
    {"llama3", [] { return single(kLlama3, true, true); }},
    {"llama-v3", [] { return single(kLlama3, true, true); }},
    // GLM-4 / GLM-4.5 split like Llama 3. Their tiktoken-converted tokenizer.json leaves
    // ignore_merges off ("chatglm-bpe" in llama.cpp); llama.cpp's "glm4" turns it on.
    {"chatglm-bpe", [] { return single(kLlama3); }},
    {"glm4", [] { return single(kLlama3, true); }},
    // tiktoken looks a whole piece up before merging: ignore_merges.
    {"kimi-k2", [] { return single(kKimiK2, true); }},
    {"smollm", [] { return PreConfig{{R"(\p{N})", kGpt2}, false, false}; }},
    {"starcoder", [] { return PreConfig{{R"(\p{N})", kGpt2}, false, false}; }},
    {"refact", [] { return PreConfig{{R"(\p{N})", kGpt2}, false, false}; }},
    {"gpt-2", [] { return single(kGpt2); }},
    // What llama.cpp applies when a file names no pre-tokenizer.
    {"default", [] {
         return PreConfig{{R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false, false};
     }},
    {"deepseek-llm", [] {
         return PreConfig{{R"([\r\n])", kDeepseekLetters,
                           R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
                           R"(\s+$)", R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)", R"(\p{N}+)"},
                          false, false};
     }},
    {"deepseek-v3", [] {
         return PreConfig{{R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
                           R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)"
                           R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
                          false, false};
     }},
    {"deepseek-coder", [] {
         return PreConfig{{R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)",
                           R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)", R"(\p{N})"},
                          false, false};
     }},
}};

}  // namespace

std::optional<PreConfig> pre_config(std::string_view pre) {
    if (pre.empty()) pre = "default";
    for (const Family& f : kFamilies)
        if (pre == f.name) return f.make();
    return std::nullopt;
}

std::string pre_names() {
    std::string out;
    for (const Family& f : kFamilies) {
        if (!out.empty()) out += ", ";
        out += f.name;
    }
    return out;
}

struct PreTokenizer::Compiled {
    pcre2_code* code = nullptr;
    ~Compiled() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& patterns) {
    for (const std::string& p : patterns) {
        int err = 0;
        PCRE2_SIZE err_off = 0;
        // MATCH_INVALID_UTF: user text may hold invalid UTF-8; it must still tokenize
        // (byte-level BPE covers every byte) instead of failing the match.
        pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
        if (!code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            throw Error("pre-tokenizer regex /" + p + "/ does not compile at offset " + std::to_string(err_off) +
                        ": " + reinterpret_cast<const char*>(msg));
        }
        // JIT is an optimisation only; the interpreter gives the same matches.
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        auto c = std::make_unique<Compiled>();
        c->code = code;
        regexes_.push_back(std::move(c));
    }
}

PreTokenizer::~PreTokenizer() = default;

namespace {

// Splits one piece by one regex, keeping the text between matches.
void split_one(pcre2_code* code, pcre2_match_data* md, std::string_view piece, std::vector<std::string_view>& out) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
    size_t pos = 0, last = 0;
    while (pos < piece.size()) {
        int rc = pcre2_match(code, subject, piece.size(), pos, 0, md, nullptr);
        if (rc < 0) break;  // no further match (or an error): the rest is one gap
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        size_t b = ov[0], e = ov[1];
        if (e == b) {
            // An empty match would loop forever; step over one code unit.
            pos = b + 1;
            continue;
        }
        if (b > last) out.push_back(piece.substr(last, b - last));
        out.push_back(piece.substr(b, e - b));
        last = pos = e;
    }
    if (last < piece.size()) out.push_back(piece.substr(last));
}

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
    if (text.empty()) return;
    std::vector<std::string_view> cur{text}, next;
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    if (!md) throw Error("pre-tokenizer: out of memory");
    for (const auto& re : regexes_) {
        next.clear();
        for (std::string_view piece : cur) split_one(re->code, md, piece, next);
        cur.swap(next);
    }
    pcre2_match_data_free(md);
    out.insert(out.end(), cur.begin(), cur.end());
}

}  // namespace hearth::tokenizer
