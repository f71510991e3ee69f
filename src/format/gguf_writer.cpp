#include "format/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"

namespace hearth::format {
namespace {

constexpr size_t kMaxTensorName = 63;  // same limit as the reader (ggml's name buffer)

bool is_unsigned(GGUFType t) {
    return t == GGUFType::UINT8 || t == GGUFType::UINT16 || t == GGUFType::UINT32 || t == GGUFType::UINT64;
}
bool is_signed(GGUFType t) {
    return t == GGUFType::INT8 || t == GGUFType::INT16 || t == GGUFType::INT32 || t == GGUFType::INT64;
}

uint64_t unsigned_max(GGUFType t) {
    switch (t) {
        case GGUFType::UINT8: return std::numeric_limits<uint8_t>::max();
        case GGUFType::UINT16: return std::numeric_limits<uint16_t>::max();
        case GGUFType::UINT32: return std::numeric_limits<uint32_t>::max();
        default: return std::numeric_limits<uint64_t>::max();
    }
}

std::pair<int64_t, int64_t> signed_range(GGUFType t) {
    switch (t) {
        case GGUFType::INT8: return {std::numeric_limits<int8_t>::min(), std::numeric_limits<int8_t>::max()};
        case GGUFType::INT16: return {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max()};
        case GGUFType::INT32: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
        default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
    }
}

// Checks that a value built by hand (not through the constructors) is encodable.
void check_value(const GGUFValue& v, const std::string& key) {
    auto bad = [&](const std::string& what) { throw Error("GGUF writer: key " + key + ": " + what); };
    if (static_cast<uint32_t>(v.type) > static_cast<uint32_t>(GGUFType::FLOAT64)) bad("unknown value type");
    if (is_unsigned(v.type)) {
        const auto* u = std::get_if<uint64_t>(&v.v);
        if (!u) bad("unsigned value does not hold an unsigned integer");
        if (*u > unsigned_max(v.type)) bad("value " + std::to_string(*u) + " is out of range");
    } else if (is_signed(v.type)) {
        const auto* i = std::get_if<int64_t>(&v.v);
        if (!i) bad("signed value does not hold a signed integer");
        auto [lo, hi] = signed_range(v.type);
        if (*i < lo || *i > hi) bad("value " + std::to_string(*i) + " is out of range");
    } else if (v.type == GGUFType::FLOAT32 || v.type == GGUFType::FLOAT64) {
        if (!std::holds_alternative<double>(v.v)) bad("float value does not hold a double");
    } else if (v.type == GGUFType::BOOL) {
        if (!std::holds_alternative<bool>(v.v)) bad("bool value does not hold a bool");
    } else if (v.type == GGUFType::STRING) {
        if (!std::holds_alternative<std::string>(v.v)) bad("string value does not hold a string");
    } else {
        if (v.packed) return;  // read from a file, which was validated when it was opened
        const auto* a = std::get_if<std::shared_ptr<GGUFArray>>(&v.v);
        if (!a || !*a) bad("array value does not hold an array");
        for (const GGUFValue& item : **a) {
            if (item.type != v.elem_type) {
                bad("array declared as element type " + std::to_string(static_cast<uint32_t>(v.elem_type)) +
                    " holds an item of type " + std::to_string(static_cast<uint32_t>(item.type)));
            }
            check_value(item, key);
        }
    }
}

class Out {
public:
    explicit Out(const std::function<void(const uint8_t*, size_t)>& sink) : sink_(sink) {}
    void raw(const void* p, size_t n) {
        if (n == 0) return;
        sink_(static_cast<const uint8_t*>(p), n);
        pos_ += n;
    }
    template <class T>
    void put(T v) {
        raw(&v, sizeof v);  // the host is little-endian (x86-64/aarch64), as is GGUF
    }
    void str(const std::string& s) {
        put<uint64_t>(s.size());
        raw(s.data(), s.size());
    }
    void pad_to(uint64_t alignment) {
        static const uint8_t zeros[256] = {};
        uint64_t rem = pos_ % alignment;
        uint64_t n = rem ? alignment - rem : 0;
        while (n > 0) {
            size_t k = n < sizeof zeros ? static_cast<size_t>(n) : sizeof zeros;
            raw(zeros, k);
            n -= k;
        }
    }
    uint64_t pos() const { return pos_; }

private:
    const std::function<void(const uint8_t*, size_t)>& sink_;
    uint64_t pos_ = 0;
};

void write_value(Out& o, const GGUFValue& v) {
    switch (v.type) {
        case GGUFType::UINT8: o.put(static_cast<uint8_t>(std::get<uint64_t>(v.v))); break;
        case GGUFType::UINT16: o.put(static_cast<uint16_t>(std::get<uint64_t>(v.v))); break;
        case GGUFType::UINT32: o.put(static_cast<uint32_t>(std::get<uint64_t>(v.v))); break;
        case GGUFType::UINT64: o.put(std::get<uint64_t>(v.v)); break;
        case GGUFType::INT8: o.put(static_cast<int8_t>(std::get<int64_t>(v.v))); break;
        case GGUFType::INT16: o.put(static_cast<int16_t>(std::get<int64_t>(v.v))); break;
        case GGUFType::INT32: o.put(static_cast<int32_t>(std::get<int64_t>(v.v))); break;
        case GGUFType::INT64: o.put(std::get<int64_t>(v.v)); break;
        case GGUFType::FLOAT32: o.put(static_cast<float>(std::get<double>(v.v))); break;
        case GGUFType::FLOAT64: o.put(std::get<double>(v.v)); break;
        case GGUFType::BOOL: o.put(static_cast<uint8_t>(std::get<bool>(v.v) ? 1 : 0)); break;
        case GGUFType::STRING: o.str(std::get<std::string>(v.v)); break;
        case GGUFType::ARRAY: {
            o.put(static_cast<uint32_t>(v.elem_type));
            const size_t n = v.array_size();
            o.put(static_cast<uint64_t>(n));
            // Element by element, so an array still packed in its source file is not expanded.
            if (v.packed)
                for (size_t i = 0; i < n; ++i) write_value(o, v.array_at(i));
            else
                for (const GGUFValue& item : v.as_array()) write_value(o, item);
            break;
        }
    }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

GGUFValue gguf_uint(GGUFType t, uint64_t v) {
    if (!is_unsigned(t)) throw Error("gguf_uint: type " + std::to_string(static_cast<uint32_t>(t)) + " is not unsigned");
    GGUFValue out;
    out.type = t;
    out.v = v;
    check_value(out, "(value)");
    return out;
}

GGUFValue gguf_int(GGUFType t, int64_t v) {
    if (!is_signed(t)) throw Error("gguf_int: type " + std::to_string(static_cast<uint32_t>(t)) + " is not signed");
    GGUFValue out;
    out.type = t;
    out.v = v;
    check_value(out, "(value)");
    return out;
}

GGUFValue gguf_float(GGUFType t, double v) {
    if (t != GGUFType::FLOAT32 && t != GGUFType::FLOAT64) throw Error("gguf_float: type is not a float type");
    GGUFValue out;
    out.type = t;
    out.v = t == GGUFType::FLOAT32 ? static_cast<double>(static_cast<float>(v)) : v;
    return out;
}

GGUFValue gguf_bool(bool v) {
    GGUFValue out;
    out.type = GGUFType::BOOL;
    out.v = v;
    return out;
}

GGUFValue gguf_string(std::string v) {
    GGUFValue out;
    out.type = GGUFType::STRING;
    out.v = std::move(v);
    return out;
}

GGUFValue gguf_array(GGUFType elem_type, GGUFArray items) {
    GGUFValue out;
    out.type = GGUFType::ARRAY;
    out.elem_type = elem_type;
    out.v = std::make_shared<GGUFArray>(std::move(items));
    check_value(out, "(array)");
    return out;
}

GGUFValue gguf_string_array(const std::vector<std::string>& items) {
    GGUFArray a;
    a.reserve(items.size());
    for (const auto& s : items) a.push_back(gguf_string(s));
    return gguf_array(GGUFType::STRING, std::move(a));
}

GGUFWriter::GGUFWriter(uint32_t version) : version_(version) {
    if (version != 2 && version != 3) {
        throw Error("GGUF writer: version " + std::to_string(version) + " is not supported (only 2 and 3)");
    }
}

void GGUFWriter::add(const std::string& key, GGUFValue value) {
    if (key.empty()) throw Error("GGUF writer: metadata key is empty");
    for (const auto& kv : kv_) {
        if (kv.first == key) throw Error("GGUF writer: duplicate metadata key " + key);
    }
    check_value(value, key);
    if (key == "general.alignment") {
        if (!value.is_int()) throw Error("GGUF writer: general.alignment must be an integer");
        bool negative = std::holds_alternative<int64_t>(value.v) && std::get<int64_t>(value.v) < 0;
        uint64_t a = negative ? 0 : value.as_uint("general.alignment");
        if (a == 0 || (a & (a - 1)) != 0 || a > std::numeric_limits<uint32_t>::max()) {
            throw Error("GGUF writer: general.alignment is " + value.to_display() +
                        ", must be a non-zero power of two (uint32)");
        }
        alignment_ = a;
    }
    kv_.emplace_back(key, std::move(value));
}

void GGUFWriter::set_alignment(uint32_t alignment) { add("general.alignment", gguf_uint(GGUFType::UINT32, alignment)); }

void GGUFWriter::add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            std::vector<uint8_t> bytes) {
    Tensor t{name, dtype, std::move(shape), std::move(bytes), nullptr, 0};
    t.nbytes = t.owned.size();
    add_tensor_impl(std::move(t));
}

void GGUFWriter::add_tensor_ref(const std::string& name, DType dtype, std::vector<int64_t> shape,
                                const uint8_t* data, size_t nbytes) {
    if (!data && nbytes) throw Error("GGUF writer: tensor " + name + ": data is null");
    add_tensor_impl(Tensor{name, dtype, std::move(shape), {}, data, nbytes});
}

void GGUFWriter::add_tensor_impl(Tensor t) {
    auto bad = [&](const std::string& what) { throw Error("GGUF writer: tensor " + t.name + ": " + what); };
    if (t.name.empty()) throw Error("GGUF writer: tensor name is empty");
    if (t.name.size() > kMaxTensorName) bad("name is longer than " + std::to_string(kMaxTensorName) + " bytes");
    for (const Tensor& o : tensors_) {
        if (o.name == t.name) bad("duplicate tensor name");
    }
    if (!dtype_known(static_cast<uint32_t>(t.dtype))) bad("unknown dtype");
    if (t.shape.empty() || t.shape.size() > 4) bad("must have 1 to 4 dimensions");
    const DTypeInfo& info = dtype_info(t.dtype);
    uint64_t n = 1;
    for (int64_t d : t.shape) {
        if (d <= 0) bad("dimensions must be positive");
        if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) ||
            n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            bad("element count overflows");
        }
    }
    if (t.shape[0] % info.block_elems != 0) {
        bad("row size " + std::to_string(t.shape[0]) + " is not a multiple of the " + std::string(info.name) +
            " block size " + std::to_string(info.block_elems));
    }
    uint64_t expect = 0;
    if (__builtin_mul_overflow(n / info.block_elems, uint64_t{info.block_bytes}, &expect)) bad("byte size overflows");
    if (expect != t.nbytes) {
        bad("has " + std::to_string(t.nbytes) + " bytes of data, its shape and type need " + std::to_string(expect));
    }
    tensors_.push_back(std::move(t));
}

void GGUFWriter::write(const std::function<void(const uint8_t*, size_t)>& sink) const {
    Out o(sink);
    o.raw("GGUF", 4);
    o.put<uint32_t>(version_);
    o.put<uint64_t>(tensors_.size());
    o.put<uint64_t>(kv_.size());
    for (const auto& [key, value] : kv_) {
        o.str(key);
        o.put(static_cast<uint32_t>(value.type));
        write_value(o, value);
    }
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
        o.str(t.name);
        o.put(static_cast<uint32_t>(t.shape.size()));
        for (int64_t d : t.shape) o.put(static_cast<uint64_t>(d));
        o.put(static_cast<uint32_t>(t.dtype));
        o.put(offset);
        offset = align_up(offset + t.nbytes, alignment_);
    }
    if (tensors_.empty()) return;
    for (const Tensor& t : tensors_) {
        o.pad_to(alignment_);
        o.raw(t.owned.empty() ? t.data : t.owned.data(), t.nbytes);
    }
    // Trailing padding keeps the file a multiple of the alignment, as llama.cpp writes it.
    o.pad_to(alignment_);
}

std::vector<uint8_t> GGUFWriter::to_bytes() const {
    std::vector<uint8_t> out;
    write([&](const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); });
    return out;
}

void GGUFWriter::write_file(const std::string& path) const {
    std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(path + ": cannot create " + tmp + ": " + std::strerror(errno));
    bool ok = true;
    try {
        write([&](const uint8_t* p, size_t n) {
            if (ok && std::fwrite(p, 1, n, f) != n) ok = false;
        });
    } catch (...) {
        std::fclose(f);
        std::remove(tmp.c_str());
        throw;
    }
    if (std::fclose(f) != 0) ok = false;
    if (!ok) {
        int e = errno;
        std::remove(tmp.c_str());
        throw Error(path + ": write failed: " + std::strerror(e));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        std::remove(tmp.c_str());
        throw Error(path + ": cannot rename " + tmp + " into place: " + std::strerror(e));
    }
}

}  // namespace hearth::format
