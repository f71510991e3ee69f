#pragma once
// GGUF v2/v3 reader. The file is memory-mapped; tensor data is used in place.
// Every count, length and offset is validated against the file size with overflow-safe
// arithmetic before use, so a corrupt or truncated file raises one hearth::Error that
// names the file and what is wrong, and never reads out of bounds.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace hearth::format {

// GGUF metadata value types, numbered as in the format.
enum class GGUFType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

struct GGUFValue;
using GGUFArray = std::vector<GGUFValue>;
struct PackedArray;

// One metadata value. Arrays keep their declared element type (also for empty arrays)
// and may nest.
//
// A large top-level array of scalars or strings in a mapped file (a tokenizer's 150k tokens
// and merges) is not expanded into GGUFValues when the file is opened: 48 bytes per element
// would be ~22 MB for a Qwen vocabulary. It is validated and left in the map (`packed`, with
// v holding a null array); array_size/array_at/array_string read it in place, and as_array()
// expands it once on first use.
struct GGUFValue {
    GGUFType type = GGUFType::UINT8;
    GGUFType elem_type = GGUFType::UINT8;  // for ARRAY
    std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GGUFArray>> v;
    std::shared_ptr<const PackedArray> packed;

    bool is_int() const;     // any integer type
    bool is_float() const;   // FLOAT32/FLOAT64
    bool is_string() const { return type == GGUFType::STRING; }
    bool is_array() const { return type == GGUFType::ARRAY; }

    // Checked accessors: throw hearth::Error (with `what` in the message) on a wrong type
    // or a value out of the target's range.
    int64_t as_int(const std::string& what = "") const;
    uint64_t as_uint(const std::string& what = "") const;
    double as_float(const std::string& what = "") const;  // accepts ints too
    bool as_bool(const std::string& what = "") const;
    const std::string& as_string(const std::string& what = "") const;
    const GGUFArray& as_array(const std::string& what = "") const;
    // Element access that never expands a packed array. array_at returns a copy (scalars and
    // strings); array_string views a string element (valid while the file is open).
    size_t array_size(const std::string& what = "") const;
    GGUFValue array_at(size_t i, const std::string& what = "") const;
    std::string_view array_string(size_t i, const std::string& what = "") const;

    // A packed array of strings as the file lays it out: count elements of (8-byte little-endian
    // length, bytes), back to back from base for `bytes` bytes, kept alive by owner (the map).
    // Lets a reader index the strings itself instead of copying them. Null when not packed.
    struct InPlaceStrings {
        std::shared_ptr<const void> owner;
        const uint8_t* base = nullptr;
        uint64_t count = 0;
        uint64_t bytes = 0;
    };
    std::optional<InPlaceStrings> strings_in_place() const;

    std::string to_display(size_t max_items = 8) const;  // short human-readable form
};

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // GGUF order: shape[0] is the contiguous (row) dimension
    uint64_t offset = 0;         // relative to the start of the data section
    uint64_t nbytes = 0;
    const uint8_t* data = nullptr;  // into the map

    int64_t n_elements() const;
    int64_t rows() const;  // product of shape[1..]
};

// Memory that tensors of an in-memory view (GGUFFile::from_memory) point into, and the
// object that keeps it alive (a shared MappedFile, an OwnedBuffer).
struct MemoryRegion {
    const uint8_t* data = nullptr;
    size_t size = 0;
    std::shared_ptr<const void> owner;
};

// A heap buffer for tensors that must be rearranged before use (imported weights),
// aligned like mapped GGUF data so every kernel sees the same alignment.
class OwnedBuffer {
public:
    explicit OwnedBuffer(size_t n);
    ~OwnedBuffer();
    OwnedBuffer(const OwnedBuffer&) = delete;
    OwnedBuffer& operator=(const OwnedBuffer&) = delete;
    uint8_t* data() { return p_; }
    const uint8_t* data() const { return p_; }
    size_t size() const { return n_; }

private:
    uint8_t* p_ = nullptr;
    size_t n_ = 0;
};

class GGUFFile {
public:
    // Opens, maps and validates. Throws hearth::Error("<path>: <what is wrong>").
    // A directory is imported as a Hugging Face model (config.json, *.safetensors,
    // tokenizer.json; see format/hf_import.h) and presented as the same GGUF view.
    static std::unique_ptr<GGUFFile> open(const std::string& path);
    // A view over metadata and tensors already in memory (an imported model). Each tensor's
    // data must lie wholly inside one of `regions`, which the view keeps alive; names, shapes,
    // types and byte sizes are validated as the reader validates a file. `size` is the bytes
    // of the sources, for display; version() of such a view is 0 and `source` says what it was
    // read from (see source_format()).
    static std::unique_ptr<GGUFFile> from_memory(const std::string& name, uint64_t size,
                                                 std::map<std::string, GGUFValue> metadata,
                                                 std::vector<TensorInfo> tensors, std::vector<MemoryRegion> regions,
                                                 std::string source = "in-memory model");
    // Parses an in-memory buffer (used by the fuzzer and tests); `name` is used in errors.
    // The buffer must outlive the returned object.
    static std::unique_ptr<GGUFFile> parse(const uint8_t* data, size_t size, const std::string& name);

    uint32_t version() const { return version_; }
    // What the model was read from, for people: "GGUF v3", or for an imported view e.g.
    // "Hugging Face directory (safetensors, 2 shards)". is_gguf() is false for such views.
    const std::string& source_format() const { return source_; }
    bool is_gguf() const { return version_ != 0; }
    uint64_t alignment() const { return alignment_; }
    const std::string& path() const { return name_; }
    uint64_t file_size() const { return size_; }

    const std::map<std::string, GGUFValue>& metadata() const { return kv_; }
    const GGUFValue* find(const std::string& key) const;
    bool has(const std::string& key) const { return find(key) != nullptr; }
    // Typed getters: throw if missing (naming the key) or of the wrong type.
    int64_t get_int(const std::string& key) const;
    double get_float(const std::string& key) const;
    std::string get_string(const std::string& key) const;
    bool get_bool(const std::string& key) const;
    // With defaults when missing (still throw on a present value of the wrong type).
    int64_t get_int(const std::string& key, int64_t def) const;
    double get_float(const std::string& key, double def) const;
    std::string get_string(const std::string& key, const std::string& def) const;
    bool get_bool(const std::string& key, bool def) const;

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(const std::string& name) const;

private:
    GGUFFile() = default;
    // owner: what keeps `data` alive (the map); with one, large arrays stay packed in place.
    void parse_impl(const uint8_t* data, size_t size, std::shared_ptr<const void> owner = nullptr);

    std::shared_ptr<const MappedFile> map_;  // shared with packed arrays
    std::vector<MemoryRegion> regions_;  // from_memory views only
    std::string name_;
    uint64_t size_ = 0;
    uint32_t version_ = 0;
    std::string source_;
    uint64_t alignment_ = 32;
    std::map<std::string, GGUFValue> kv_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t> tensor_index_;
};

}  // namespace hearth::format
