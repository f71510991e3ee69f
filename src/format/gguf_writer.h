#pragma once
// GGUF v2/v3 writer (little-endian). Metadata keeps insertion order; tensor data is laid
// out in insertion order, each tensor at a multiple of the alignment, which is 32 unless
// a `general.alignment` key says otherwise (set_alignment() adds that key).
// Everything is validated when added, so write() cannot produce a file the reader rejects.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "format/gguf.h"

namespace hearth::format {

// Value constructors; the type is checked against the C++ value (e.g. an UINT8 above 255
// throws hearth::Error).
GGUFValue gguf_uint(GGUFType t, uint64_t v);  // UINT8/16/32/64
GGUFValue gguf_int(GGUFType t, int64_t v);    // INT8/16/32/64
GGUFValue gguf_float(GGUFType t, double v);   // FLOAT32/64 (FLOAT32 is rounded to float)
GGUFValue gguf_bool(bool v);
GGUFValue gguf_string(std::string v);
// Every item must have type `elem_type`; arrays may nest and may be empty.
GGUFValue gguf_array(GGUFType elem_type, GGUFArray items);
GGUFValue gguf_string_array(const std::vector<std::string>& items);

class GGUFWriter {
public:
    explicit GGUFWriter(uint32_t version = 3);  // 2 or 3 (same layout)

    // Throws hearth::Error on a duplicate key or a value that is not self-consistent
    // (array items of another type than declared).
    void add(const std::string& key, GGUFValue value);
    void add_u8(const std::string& key, uint8_t v) { add(key, gguf_uint(GGUFType::UINT8, v)); }
    void add_i8(const std::string& key, int8_t v) { add(key, gguf_int(GGUFType::INT8, v)); }
    void add_u16(const std::string& key, uint16_t v) { add(key, gguf_uint(GGUFType::UINT16, v)); }
    void add_i16(const std::string& key, int16_t v) { add(key, gguf_int(GGUFType::INT16, v)); }
    void add_u32(const std::string& key, uint32_t v) { add(key, gguf_uint(GGUFType::UINT32, v)); }
    void add_i32(const std::string& key, int32_t v) { add(key, gguf_int(GGUFType::INT32, v)); }
    void add_u64(const std::string& key, uint64_t v) { add(key, gguf_uint(GGUFType::UINT64, v)); }
    void add_i64(const std::string& key, int64_t v) { add(key, gguf_int(GGUFType::INT64, v)); }
    void add_f32(const std::string& key, float v) { add(key, gguf_float(GGUFType::FLOAT32, v)); }
    void add_f64(const std::string& key, double v) { add(key, gguf_float(GGUFType::FLOAT64, v)); }
    void add_bool(const std::string& key, bool v) { add(key, gguf_bool(v)); }
    void add_string(const std::string& key, std::string v) { add(key, gguf_string(std::move(v))); }
    void add_array(const std::string& key, GGUFType elem_type, GGUFArray items) {
        add(key, gguf_array(elem_type, std::move(items)));
    }
    // Adds `general.alignment` as uint32; must be a non-zero power of two.
    void set_alignment(uint32_t alignment);
    uint64_t alignment() const { return alignment_; }

    // Copies copy `bytes`; the borrowing overload keeps a pointer, which must stay valid
    // until the last write. Shape is in GGUF order (shape[0] is the row). The byte count
    // must match the dtype and shape exactly.
    void add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes);
    void add_tensor_ref(const std::string& name, DType dtype, std::vector<int64_t> shape, const uint8_t* data,
                        size_t nbytes);

    std::vector<uint8_t> to_bytes() const;
    // Writes to `path` (through a temporary file renamed at the end, so a failed write never
    // leaves a truncated model behind).
    void write_file(const std::string& path) const;
    // Streams the file through `sink` in order; used by both of the above.
    void write(const std::function<void(const uint8_t*, size_t)>& sink) const;

    size_t n_tensors() const { return tensors_.size(); }

private:
    struct Tensor {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> owned;
        const uint8_t* data;
        size_t nbytes;
    };
    void add_tensor_impl(Tensor t);

    uint32_t version_;
    uint64_t alignment_ = 32;
    std::vector<std::pair<std::string, GGUFValue>> kv_;
    std::vector<Tensor> tensors_;
};

}  // namespace hearth::format
