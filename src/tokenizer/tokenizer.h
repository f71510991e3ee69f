#pragma once
// Text <-> token ids, exactly as the model's own tokenizer does it.
// Built from a GGUF file's tokenizer.ggml.* metadata (and later from tokenizer.json).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::format {
class GGUFFile;
}

namespace hearth::tokenizer {

// Token types as stored in tokenizer.ggml.token_type.
enum class TokenType : int8_t {  // one byte: a vocabulary holds one per token
    Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Throws hearth::Error naming the file for missing/inconsistent tokenizer metadata or an
    // unsupported tokenizer.ggml.model / tokenizer.ggml.pre (the message lists the supported ones).
    static std::unique_ptr<Tokenizer> from_gguf(const format::GGUFFile& file);

    // add_special: add BOS/EOS as the model's metadata says (tokenizer.ggml.add_bos_token ...).
    // parse_special: text matching control/user-defined tokens (e.g. "<|im_start|>") becomes
    // those tokens; otherwise it is tokenized as plain text.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const = 0;

    // The bytes a token stands for (byte-level BPE decoded, SentencePiece "▁" -> space, <0xNN> -> byte).
    // Control tokens decode to their text only when `special` is true, else to "".
    virtual std::string token_to_piece(int32_t id, bool special = false) const = 0;
    std::string decode(const std::vector<int32_t>& ids, bool special = false) const;

    virtual int32_t n_vocab() const = 0;
    virtual std::string_view token_text(int32_t id) const = 0;  // as stored in the vocabulary
    virtual TokenType token_type(int32_t id) const = 0;
    virtual int32_t bos_id() const = 0;  // -1 if none
    virtual int32_t eos_id() const = 0;  // -1 if none
    // End of generation: EOS, EOT, <|im_end|>, <|eot_id|>, <|endoftext|> ... as llama.cpp decides them.
    virtual bool is_eog(int32_t id) const = 0;
    virtual std::string model_name() const = 0;  // "gpt2" / "llama" ...
    virtual std::string pre_name() const = 0;    // pre-tokenizer id ("qwen2", "llama-bpe", ...)

protected:
    // SentencePiece puts a space in front of the text it encodes; decode() takes it off again
    // so that decode(encode(x)) == x.
    virtual bool decode_strips_leading_space() const { return false; }
};

// Turns a stream of token pieces into text that is always valid UTF-8: bytes of a character
// split across tokens are held back until the character is complete.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tok, bool special = false) : tok_(tok), special_(special) {}
    std::string push(int32_t id);  // returns the newly completed text (possibly empty)
    std::string flush();           // whatever is pending; invalid bytes become U+FFFD

private:
    const Tokenizer& tok_;
    bool special_;
    std::string pending_;
};

}  // namespace hearth::tokenizer
