#include "format/gguf.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "format/hf_import.h"

namespace hearth::format {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
// ggml keeps tensor names in a 64-byte buffer including the terminating NUL; longer names
// would be truncated (and could collide) in every ggml-based tool, so they are rejected.
constexpr size_t kMaxTensorName = 63;
constexpr uint32_t kMaxDims = 4;
// Real files nest at most one level; the bound keeps recursion (and a fuzzer) in check.
constexpr int kMaxArrayDepth = 8;
// Smallest possible encodings, used to bound counts by the bytes left before allocating.
constexpr uint64_t kMinKVBytes = 8 + 4 + 1;              // key length, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, 1 dim, type, offset
// Top-level arrays of at least this many scalars or strings stay packed in the map.
constexpr uint64_t kPackMinElems = 256;

const char* type_name(GGUFType t) {
    switch (t) {
        case GGUFType::UINT8: return "uint8";
        case GGUFType::INT8: return "int8";
        case GGUFType::UINT16: return "uint16";
        case GGUFType::INT16: return "int16";
        case GGUFType::UINT32: return "uint32";
        case GGUFType::INT32: return "int32";
        case GGUFType::FLOAT32: return "float32";
        case GGUFType::BOOL: return "bool";
        case GGUFType::STRING: return "string";
        case GGUFType::ARRAY: return "array";
        case GGUFType::UINT64: return "uint64";
        case GGUFType::INT64: return "int64";
        case GGUFType::FLOAT64: return "float64";
    }
    return "?";
}

uint64_t min_value_bytes(GGUFType t) {
    switch (t) {
        case GGUFType::UINT8: case GGUFType::INT8: case GGUFType::BOOL: return 1;
        case GGUFType::UINT16: case GGUFType::INT16: return 2;
        case GGUFType::UINT32: case GGUFType::INT32: case GGUFType::FLOAT32: return 4;
        case GGUFType::UINT64: case GGUFType::INT64: case GGUFType::FLOAT64: return 8;
        case GGUFType::STRING: return 8;
        case GGUFType::ARRAY: return 4 + 8;
    }
    return 1;
}

std::string shape_str(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Reads little-endian fields with bounds checks. On failure the message says what was
// being read (set by the caller as a context) and where, so a broken file can be located.
class Cursor {
public:
    Cursor(const uint8_t* data, size_t size, const std::string& file)
        : d_(data), size_(size), file_(file) {}

    [[noreturn]] void fail(const std::string& what) const { throw Error(file_ + ": " + what); }
    [[noreturn]] void fail_here(const std::string& what) const { fail(context() + ": " + what); }

    void set_context(const char* kind, uint64_t index, std::string name) {
        kind_ = kind;
        index_ = index;
        name_ = std::move(name);
        elem_.clear();
    }
    void set_name(std::string name) { name_ = std::move(name); }
    // Element path inside arrays, e.g. "[3][0]"; kept as a stack so nesting reads well.
    std::vector<uint64_t>& elems() { return elem_; }

    std::string context() const {
        // Built with append(): GCC 12 raises a false -Wrestrict on `" (" + name_` at -O3.
        std::string s = kind_;
        if (index_ != kNoIndex) s.append(" ").append(std::to_string(index_));
        if (!name_.empty()) s.append(" (").append(name_).append(")");
        if (!elem_.empty()) {
            s.append(" element ");
            for (uint64_t e : elem_) s.append("[").append(std::to_string(e)).append("]");
        }
        return s;
    }

    size_t pos() const { return pos_; }
    const uint8_t* here() const { return d_ + pos_; }
    void seek(size_t pos) { pos_ = pos; }
    void skip(uint64_t n) {
        need(n);
        pos_ += static_cast<size_t>(n);
    }
    // What keeps the bytes alive (a file's map), so arrays may be left packed in it; null for
    // a caller's buffer.
    void set_owner(std::shared_ptr<const void> o) { owner_ = std::move(o); }
    const std::shared_ptr<const void>& owner() const { return owner_; }
    size_t remaining() const { return size_ - pos_; }
    size_t size() const { return size_; }

    void need(uint64_t n) const {
        if (n > remaining()) {
            fail("truncated: " + context() + " needs " + std::to_string(n) + " bytes at offset " +
                 std::to_string(pos_) + ", file has " + std::to_string(size_));
        }
    }

    template <class T>
    T get() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, d_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    std::string get_string() {
        uint64_t len = get<uint64_t>();
        need(len);
        std::string s(reinterpret_cast<const char*>(d_ + pos_), static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return s;
    }

    static constexpr uint64_t kNoIndex = std::numeric_limits<uint64_t>::max();

private:
    const uint8_t* d_;
    size_t size_;
    size_t pos_ = 0;
    const std::string& file_;
    const char* kind_ = "header";
    uint64_t index_ = kNoIndex;
    std::string name_;
    std::vector<uint64_t> elem_;
    std::shared_ptr<const void> owner_;
};

GGUFType read_type(Cursor& c, const char* role) {
    uint32_t t = c.get<uint32_t>();
    if (t > static_cast<uint32_t>(GGUFType::FLOAT64)) {
        c.fail_here("unknown " + std::string(role) + " " + std::to_string(t) + " (known: 0 to 12)");
    }
    return static_cast<GGUFType>(t);
}

GGUFValue read_value(Cursor& c, GGUFType type, int depth);

}  // namespace

// A validated array left in the file's map: element i starts at base + i * size; a string
// element (8-byte length, then the bytes) is found from the offset of every kStride-th one,
// so the index costs a quarter of a byte per string.
struct PackedArray {
    static constexpr size_t kStride = 16;
    std::shared_ptr<const void> owner;
    const uint8_t* base = nullptr;
    uint64_t count = 0;
    uint64_t bytes = 0;
    GGUFType elem = GGUFType::UINT8;
    std::vector<uint32_t> offsets;  // strings: of elements 0, kStride, 2 * kStride, ...
    mutable std::once_flag expand_once;
    mutable std::shared_ptr<GGUFArray> expanded;

    const uint8_t* at(size_t i) const {
        if (elem != GGUFType::STRING) return base + i * min_value_bytes(elem);
        const uint8_t* p = base + offsets[i / kStride];
        for (size_t k = i % kStride; k > 0; --k) {
            uint64_t len;
            std::memcpy(&len, p, 8);
            p += 8 + len;
        }
        return p;
    }
    std::string_view string(size_t i) const {
        const uint8_t* p = at(i);
        uint64_t len;
        std::memcpy(&len, p, 8);
        return {reinterpret_cast<const char*>(p + 8), static_cast<size_t>(len)};
    }
    GGUFValue value(size_t i) const {
        static const std::string kName;
        const uint8_t* p = at(i);
        Cursor c(p, static_cast<size_t>(base + bytes - p), kName);
        return read_value(c, elem, 1);
    }
};

namespace {

// Validates a top-level array of n scalars or strings at the cursor and leaves it in the map;
// null (cursor unmoved) when it cannot be packed: a nested array, or string offsets past 4 GiB.
std::shared_ptr<PackedArray> read_packed(Cursor& c, GGUFType elem, uint64_t n) {
    if (elem == GGUFType::ARRAY) return nullptr;
    auto pa = std::make_shared<PackedArray>();
    pa->owner = c.owner();
    pa->base = c.here();
    pa->count = n;
    pa->elem = elem;
    const size_t start = c.pos();
    c.elems().push_back(0);
    if (elem == GGUFType::STRING) {
        pa->offsets.reserve(static_cast<size_t>(n / PackedArray::kStride + 1));
        for (uint64_t i = 0; i < n; ++i) {
            c.elems().back() = i;
            if (i % PackedArray::kStride == 0) {
                const size_t off = c.pos() - start;
                if (off > std::numeric_limits<uint32_t>::max()) {
                    c.elems().pop_back();
                    c.seek(start);
                    return nullptr;
                }
                pa->offsets.push_back(static_cast<uint32_t>(off));
            }
            c.skip(c.get<uint64_t>());
        }
    } else if (elem == GGUFType::BOOL) {
        for (uint64_t i = 0; i < n; ++i) {
            c.elems().back() = i;
            read_value(c, elem, 1);
        }
    } else {
        c.skip(n * min_value_bytes(elem));  // n was bounded by the bytes left, so no overflow
    }
    c.elems().pop_back();
    pa->bytes = c.pos() - start;
    return pa;
}

GGUFValue read_value(Cursor& c, GGUFType type, int depth) {
    GGUFValue v;
    v.type = type;
    switch (type) {
        case GGUFType::UINT8: v.v = uint64_t{c.get<uint8_t>()}; break;
        case GGUFType::UINT16: v.v = uint64_t{c.get<uint16_t>()}; break;
        case GGUFType::UINT32: v.v = uint64_t{c.get<uint32_t>()}; break;
        case GGUFType::UINT64: v.v = c.get<uint64_t>(); break;
        case GGUFType::INT8: v.v = int64_t{c.get<int8_t>()}; break;
        case GGUFType::INT16: v.v = int64_t{c.get<int16_t>()}; break;
        case GGUFType::INT32: v.v = int64_t{c.get<int32_t>()}; break;
        case GGUFType::INT64: v.v = c.get<int64_t>(); break;
        case GGUFType::FLOAT32: v.v = double{c.get<float>()}; break;
        case GGUFType::FLOAT64: v.v = c.get<double>(); break;
        case GGUFType::BOOL: {
            uint8_t b = c.get<uint8_t>();
            if (b > 1) c.fail_here("bool value is " + std::to_string(b) + ", must be 0 or 1");
            v.v = b == 1;
            break;
        }
        case GGUFType::STRING: v.v = c.get_string(); break;
        case GGUFType::ARRAY: {
            if (depth >= kMaxArrayDepth) {
                c.fail_here("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
            }
            v.elem_type = read_type(c, "array element type");
            uint64_t n = c.get<uint64_t>();
            uint64_t min_bytes = min_value_bytes(v.elem_type);
            if (n > c.remaining() / min_bytes) {
                c.fail_here("truncated: array claims " + std::to_string(n) + " " + type_name(v.elem_type) +
                            " elements (at least " + std::to_string(min_bytes) + " bytes each), but only " +
                            std::to_string(c.remaining()) + " bytes are left in the file");
            }
            if (depth == 0 && c.owner() && n >= kPackMinElems) {
                if (auto packed = read_packed(c, v.elem_type, n)) {
                    v.v = std::shared_ptr<GGUFArray>();
                    v.packed = std::move(packed);
                    break;
                }
            }
            auto arr = std::make_shared<GGUFArray>();
            arr->reserve(static_cast<size_t>(n));
            c.elems().push_back(0);
            for (uint64_t i = 0; i < n; ++i) {
                c.elems().back() = i;
                arr->push_back(read_value(c, v.elem_type, depth + 1));
            }
            c.elems().pop_back();
            v.v = std::move(arr);
            break;
        }
    }
    return v;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }

std::string quoted(const std::string& s, size_t max_chars) {
    std::string out = "\"";
    size_t n = 0;
    for (char ch : s) {
        if (n++ >= max_chars) {
            out += "...";
            break;
        }
        auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (ch == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string describe(const std::string& what) { return what.empty() ? "value" : what; }

}  // namespace

// ---- GGUFValue -------------------------------------------------------------------------

bool GGUFValue::is_int() const {
    switch (type) {
        case GGUFType::UINT8: case GGUFType::INT8: case GGUFType::UINT16: case GGUFType::INT16:
        case GGUFType::UINT32: case GGUFType::INT32: case GGUFType::UINT64: case GGUFType::INT64:
            return true;
        default:
            return false;
    }
}

bool GGUFValue::is_float() const { return type == GGUFType::FLOAT32 || type == GGUFType::FLOAT64; }

int64_t GGUFValue::as_int(const std::string& what) const {
    if (const auto* u = std::get_if<uint64_t>(&v); u && is_int()) {
        if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            throw Error(describe(what) + ": " + std::to_string(*u) + " does not fit in int64");
        }
        return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&v); i && is_int()) return *i;
    throw Error(describe(what) + ": expected an integer, got " + type_name(type));
}

uint64_t GGUFValue::as_uint(const std::string& what) const {
    if (const auto* u = std::get_if<uint64_t>(&v); u && is_int()) return *u;
    if (const auto* i = std::get_if<int64_t>(&v); i && is_int()) {
        if (*i < 0) throw Error(describe(what) + ": expected a non-negative integer, got " + std::to_string(*i));
        return static_cast<uint64_t>(*i);
    }
    throw Error(describe(what) + ": expected an unsigned integer, got " + type_name(type));
}

double GGUFValue::as_float(const std::string& what) const {
    if (const auto* d = std::get_if<double>(&v); d && is_float()) return *d;
    if (is_int()) {
        if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
        if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    }
    throw Error(describe(what) + ": expected a number, got " + type_name(type));
}

bool GGUFValue::as_bool(const std::string& what) const {
    if (const auto* b = std::get_if<bool>(&v); b && type == GGUFType::BOOL) return *b;
    throw Error(describe(what) + ": expected a bool, got " + type_name(type));
}

const std::string& GGUFValue::as_string(const std::string& what) const {
    if (const auto* s = std::get_if<std::string>(&v); s && type == GGUFType::STRING) return *s;
    throw Error(describe(what) + ": expected a string, got " + type_name(type));
}

const GGUFArray& GGUFValue::as_array(const std::string& what) const {
    if (packed && type == GGUFType::ARRAY) {
        std::call_once(packed->expand_once, [this] {
            auto a = std::make_shared<GGUFArray>();
            a->reserve(static_cast<size_t>(packed->count));
            for (size_t i = 0; i < packed->count; ++i) a->push_back(packed->value(i));
            packed->expanded = std::move(a);
        });
        return *packed->expanded;
    }
    if (const auto* a = std::get_if<std::shared_ptr<GGUFArray>>(&v); a && *a && type == GGUFType::ARRAY) return **a;
    throw Error(describe(what) + ": expected an array, got " + type_name(type));
}

size_t GGUFValue::array_size(const std::string& what) const {
    if (packed && type == GGUFType::ARRAY) return static_cast<size_t>(packed->count);
    return as_array(what).size();
}

GGUFValue GGUFValue::array_at(size_t i, const std::string& what) const {
    const size_t n = array_size(what);
    if (i >= n) throw Error(describe(what) + ": index " + std::to_string(i) + " is past the array's " + std::to_string(n) + " elements");
    if (packed) return packed->value(i);
    return as_array(what)[i];
}

std::string_view GGUFValue::array_string(size_t i, const std::string& what) const {
    const size_t n = array_size(what);
    if (elem_type != GGUFType::STRING)
        throw Error(describe(what) + ": expected an array of strings, got an array of " + type_name(elem_type));
    if (i >= n) throw Error(describe(what) + ": index " + std::to_string(i) + " is past the array's " + std::to_string(n) + " elements");
    if (packed) return packed->string(i);
    return as_array(what)[i].as_string(what);
}

std::optional<GGUFValue::InPlaceStrings> GGUFValue::strings_in_place() const {
    if (!packed || packed->elem != GGUFType::STRING) return std::nullopt;
    return InPlaceStrings{packed->owner, packed->base, packed->count, packed->bytes};
}

std::string GGUFValue::to_display(size_t max_items) const {
    if (const auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
    if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
    if (const auto* d = std::get_if<double>(&v)) {
        std::ostringstream os;
        os.precision(type == GGUFType::FLOAT32 ? 7 : 15);
        os << *d;
        return os.str();
    }
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    if (const auto* s = std::get_if<std::string>(&v)) return quoted(*s, 60);
    const size_t n = type == GGUFType::ARRAY ? array_size() : 0;
    std::string out = std::string(type_name(elem_type)) + "[" + std::to_string(n) + "] [";
    for (size_t i = 0; i < n && i < max_items; ++i) {
        if (i) out += ", ";
        out += array_at(i).to_display(max_items);
    }
    if (n > max_items) out += ", ...";
    return out + "]";
}

// ---- TensorInfo ------------------------------------------------------------------------

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // validated against overflow when parsed
    return n;
}

int64_t TensorInfo::rows() const {
    int64_t n = 1;
    for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
    return n;
}

// ---- GGUFFile --------------------------------------------------------------------------

OwnedBuffer::OwnedBuffer(size_t n) : n_(n) {
    const size_t rounded = (n + 63) / 64 * 64;
    if (rounded < n) throw Error("buffer of " + std::to_string(n) + " bytes is too large");
    p_ = static_cast<uint8_t*>(std::aligned_alloc(64, rounded == 0 ? 64 : rounded));
    if (!p_) throw Error("out of memory allocating " + std::to_string(n) + " bytes for imported tensors");
}

OwnedBuffer::~OwnedBuffer() { std::free(p_); }

std::unique_ptr<GGUFFile> GGUFFile::open(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return import_hf_directory(path);
    std::unique_ptr<GGUFFile> f(new GGUFFile());
    f->map_ = std::make_shared<const MappedFile>(path);
    f->name_ = path;
    f->parse_impl(f->map_->data(), f->map_->size(), f->map_);
    return f;
}

std::unique_ptr<GGUFFile> GGUFFile::parse(const uint8_t* data, size_t size, const std::string& name) {
    std::unique_ptr<GGUFFile> f(new GGUFFile());
    f->name_ = name;
    f->parse_impl(data, size);
    return f;
}

std::unique_ptr<GGUFFile> GGUFFile::from_memory(const std::string& name, uint64_t size,
                                               std::map<std::string, GGUFValue> metadata,
                                               std::vector<TensorInfo> tensors, std::vector<MemoryRegion> regions,
                                               std::string source) {
    std::unique_ptr<GGUFFile> f(new GGUFFile());
    f->name_ = name;
    f->size_ = size;
    f->version_ = 0;
    f->source_ = std::move(source);
    f->kv_ = std::move(metadata);
    f->regions_ = std::move(regions);
    auto fail = [&](const TensorInfo& t, const std::string& what) {
        throw Error(name + ": tensor " + (t.name.empty() ? std::string("(unnamed)") : t.name) + ": " + what);
    };
    for (TensorInfo& t : tensors) {
        if (t.name.empty()) fail(t, "tensor name is empty");
        if (t.name.size() > kMaxTensorName) fail(t, "name is longer than " + std::to_string(kMaxTensorName) + " bytes");
        if (t.shape.empty() || t.shape.size() > kMaxDims) fail(t, "has " + std::to_string(t.shape.size()) + " dimensions, must be 1 to 4");
        uint64_t n_elem = 1;
        for (int64_t d : t.shape) {
            if (d <= 0) fail(t, "shape " + shape_str(t.shape) + " has a dimension <= 0");
            if (mul_overflows(n_elem, static_cast<uint64_t>(d), n_elem) ||
                n_elem > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                fail(t, "element count overflows");
        }
        if (!dtype_known(static_cast<uint32_t>(t.dtype))) fail(t, "unknown tensor type");
        const DTypeInfo& info = dtype_info(t.dtype);
        if (static_cast<uint64_t>(t.shape[0]) % info.block_elems != 0) fail(t, "row is not a whole number of blocks");
        uint64_t nbytes = 0;
        if (mul_overflows(n_elem / info.block_elems, info.block_bytes, nbytes) || nbytes != t.nbytes)
            fail(t, "byte size " + std::to_string(t.nbytes) + " does not match shape " + shape_str(t.shape) + " of type " +
                        std::string(info.name));
        bool inside = false;
        for (const MemoryRegion& r : f->regions_) {
            if (!t.data || !r.data) continue;
            const auto p = reinterpret_cast<uintptr_t>(t.data), b = reinterpret_cast<uintptr_t>(r.data);
            if (p >= b && p - b <= r.size && t.nbytes <= r.size - (p - b)) inside = true;
        }
        if (!inside) fail(t, "data does not lie inside the memory it was imported from");
        t.offset = 0;
        if (!f->tensor_index_.emplace(t.name, f->tensors_.size()).second) fail(t, "duplicate tensor name");
        f->tensors_.push_back(std::move(t));
    }
    return f;
}

void GGUFFile::parse_impl(const uint8_t* data, size_t size, std::shared_ptr<const void> owner) {
    size_ = size;
    static const uint8_t kEmpty = 0;
    Cursor c(data ? data : &kEmpty, data ? size : 0, name_);
    c.set_owner(std::move(owner));

    // Header.
    if (size < 4) c.fail("not a GGUF file: " + std::to_string(size) + " bytes is too short for the magic");
    if (std::memcmp(data, kMagic, 4) != 0) {
        std::string got(reinterpret_cast<const char*>(data), 4);
        c.fail("not a GGUF file: magic is " + quoted(got, 4) + ", expected \"GGUF\"");
    }
    c.get<uint32_t>();
    uint32_t version = c.get<uint32_t>();
    if (version == 1) {
        c.fail("GGUF version 1 is not supported (only versions 2 and 3); re-convert the model with a current llama.cpp");
    }
    // A big-endian writer stores the small version number in the last byte.
    if ((version & 0xFFFFu) == 0 && version != 0) {
        c.fail("big-endian GGUF files are not supported (version field reads " + std::to_string(version) +
               " little-endian); use a little-endian conversion of the model");
    }
    if (version != 2 && version != 3) {
        c.fail("unsupported GGUF version " + std::to_string(version) + " (only versions 2 and 3 are supported)");
    }
    version_ = version;
    source_ = "GGUF v" + std::to_string(version);
    uint64_t n_tensors = c.get<uint64_t>();
    uint64_t n_kv = c.get<uint64_t>();
    if (n_kv > c.remaining() / kMinKVBytes) {
        c.fail("truncated: header claims " + std::to_string(n_kv) + " metadata entries, but only " +
               std::to_string(c.remaining()) + " bytes follow the header");
    }
    if (n_tensors > c.remaining() / kMinTensorInfoBytes) {
        c.fail("truncated: header claims " + std::to_string(n_tensors) + " tensors, but only " +
               std::to_string(c.remaining()) + " bytes follow the header");
    }

    // Metadata.
    for (uint64_t i = 0; i < n_kv; ++i) {
        c.set_context("metadata entry", i, "");
        std::string key = c.get_string();
        if (key.empty()) c.fail_here("key is empty");
        c.set_name(key);
        GGUFType t = read_type(c, "value type");
        GGUFValue value = read_value(c, t, 0);
        if (!kv_.emplace(key, std::move(value)).second) c.fail_here("duplicate metadata key '" + key + "'");
    }

    alignment_ = 32;
    if (const GGUFValue* a = find("general.alignment")) {
        if (!a->is_int()) {
            c.fail("general.alignment must be an integer, got " + std::string(type_name(a->type)));
        }
        bool negative = std::holds_alternative<int64_t>(a->v) && std::get<int64_t>(a->v) < 0;
        uint64_t al = negative ? 0 : a->as_uint();
        if (negative || al == 0 || (al & (al - 1)) != 0 || al > std::numeric_limits<uint32_t>::max()) {
            c.fail("general.alignment is " + a->to_display() + ", must be a non-zero power of two (uint32)");
        }
        alignment_ = al;
    }

    // Tensor infos.
    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        c.set_context("tensor info", i, "");
        TensorInfo ti;
        ti.name = c.get_string();
        if (ti.name.empty()) c.fail_here("tensor name is empty");
        c.set_name(ti.name);
        if (ti.name.size() > kMaxTensorName) {
            c.fail_here("tensor name is " + std::to_string(ti.name.size()) + " bytes long, at most " +
                        std::to_string(kMaxTensorName) + " are allowed");
        }
        uint32_t n_dims = c.get<uint32_t>();
        if (n_dims < 1 || n_dims > kMaxDims) {
            c.fail_here("n_dims is " + std::to_string(n_dims) + ", must be 1 to " + std::to_string(kMaxDims));
        }
        uint64_t n_elem = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t dim = c.get<uint64_t>();
            if (dim == 0) c.fail_here("dimension " + std::to_string(d) + " is 0");
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                c.fail_here("dimension " + std::to_string(d) + " is " + std::to_string(dim) + ", too large");
            }
            ti.shape.push_back(static_cast<int64_t>(dim));
            if (mul_overflows(n_elem, dim, n_elem) ||
                n_elem > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                c.fail_here("element count overflows (dimensions so far " + shape_str(ti.shape) + ")");
            }
        }
        uint32_t type_id = c.get<uint32_t>();
        if (!dtype_known(type_id)) c.fail_here("unknown tensor type id " + std::to_string(type_id));
        ti.dtype = static_cast<DType>(type_id);
        const DTypeInfo& info = dtype_info(ti.dtype);
        uint64_t row = static_cast<uint64_t>(ti.shape[0]);
        if (row % info.block_elems != 0) {
            c.fail_here("row size " + std::to_string(row) + " is not a multiple of the " + std::string(info.name) +
                        " block size " + std::to_string(info.block_elems));
        }
        uint64_t n_blocks = n_elem / info.block_elems;
        if (mul_overflows(n_blocks, info.block_bytes, ti.nbytes)) {
            c.fail_here("byte size overflows (shape " + shape_str(ti.shape) + ", type " + std::string(info.name) + ")");
        }
        ti.offset = c.get<uint64_t>();
        if (ti.offset % alignment_ != 0) {
            c.fail_here("data offset " + std::to_string(ti.offset) + " is not a multiple of the alignment " +
                        std::to_string(alignment_));
        }
        if (!tensor_index_.emplace(ti.name, tensors_.size()).second) {
            c.fail_here("duplicate tensor name '" + ti.name + "'");
        }
        tensors_.push_back(std::move(ti));
    }

    if (tensors_.empty()) return;  // the data section (and its padding) may be absent

    // Data section: starts at the next multiple of the alignment after the tensor infos.
    uint64_t data_start = c.pos();
    uint64_t rem = data_start % alignment_;
    if (rem != 0) data_start += alignment_ - rem;  // pos < 2^63 and alignment <= 2^32: no overflow
    if (data_start > size) {
        c.fail("truncated: tensor data section starts at offset " + std::to_string(data_start) + ", file has " +
               std::to_string(size));
    }
    uint64_t data_size = size - data_start;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        TensorInfo& ti = tensors_[i];
        if (ti.offset > data_size || ti.nbytes > data_size - ti.offset) {
            c.fail("truncated: tensor " + std::to_string(i) + " (" + ti.name + ") data needs " +
                   std::to_string(ti.nbytes) + " bytes at offset " + std::to_string(ti.offset) +
                   " of the data section (file offset " + std::to_string(data_start) + " + " +
                   std::to_string(ti.offset) + "), file has " + std::to_string(size) +
                   "; the data lies past the end of the file");
        }
        ti.data = data + data_start + ti.offset;
    }

    // Overlapping tensors would alias each other's weights: a writer bug, never intended.
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const TensorInfo& prev = tensors_[order[k - 1]];
        const TensorInfo& cur = tensors_[order[k]];
        if (prev.offset + prev.nbytes > cur.offset) {
            c.fail("tensors '" + prev.name + "' (data offset " + std::to_string(prev.offset) + ", " +
                   std::to_string(prev.nbytes) + " bytes) and '" + cur.name + "' (data offset " +
                   std::to_string(cur.offset) + ") overlap");
        }
    }
}

const GGUFValue* GGUFFile::find(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? nullptr : &it->second;
}

namespace {
const GGUFValue& require(const GGUFFile& f, const std::string& key) {
    const GGUFValue* v = f.find(key);
    if (!v) throw Error(f.path() + ": missing metadata key " + key);
    return *v;
}
std::string what_for(const GGUFFile& f, const std::string& key) { return f.path() + ": metadata key " + key; }
}  // namespace

int64_t GGUFFile::get_int(const std::string& key) const { return require(*this, key).as_int(what_for(*this, key)); }
double GGUFFile::get_float(const std::string& key) const {
    return require(*this, key).as_float(what_for(*this, key));
}
std::string GGUFFile::get_string(const std::string& key) const {
    return require(*this, key).as_string(what_for(*this, key));
}
bool GGUFFile::get_bool(const std::string& key) const { return require(*this, key).as_bool(what_for(*this, key)); }

int64_t GGUFFile::get_int(const std::string& key, int64_t def) const {
    const GGUFValue* v = find(key);
    return v ? v->as_int(what_for(*this, key)) : def;
}
double GGUFFile::get_float(const std::string& key, double def) const {
    const GGUFValue* v = find(key);
    return v ? v->as_float(what_for(*this, key)) : def;
}
std::string GGUFFile::get_string(const std::string& key, const std::string& def) const {
    const GGUFValue* v = find(key);
    return v ? v->as_string(what_for(*this, key)) : def;
}
bool GGUFFile::get_bool(const std::string& key, bool def) const {
    const GGUFValue* v = find(key);
    return v ? v->as_bool(what_for(*this, key)) : def;
}

const TensorInfo* GGUFFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace hearth::format
