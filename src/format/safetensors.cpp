#include "format/safetensors.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hearth::format {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers over 100 MB; a real header (names, shapes
// and offsets of every tensor) is a few MB at most.
constexpr uint64_t kMaxHeader = 100ull << 20;
// Shapes deeper than this are not tensors any model uses; the bound keeps a fuzzer's
// million-element shape from costing anything.
constexpr size_t kMaxDims = 8;

struct StDType {
    const char* name;
    uint32_t bytes;
    std::optional<DType> hearth;
};

// Every dtype the format defines with a whole number of bytes per element. Sub-byte types
// (F4, F6) have no defined byte layout for odd shapes and are refused as unknown.
constexpr StDType kDTypes[] = {
    {"F64", 8, std::nullopt},     {"F32", 4, DType::F32},       {"F16", 2, DType::F16},
    {"BF16", 2, DType::BF16},     {"I64", 8, std::nullopt},     {"U64", 8, std::nullopt},
    {"I32", 4, std::nullopt},     {"U32", 4, std::nullopt},     {"I16", 2, std::nullopt},
    {"U16", 2, std::nullopt},     {"I8", 1, std::nullopt},      {"U8", 1, std::nullopt},
    {"BOOL", 1, std::nullopt},    {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
    {"F8_E8M0", 1, std::nullopt},
};

const StDType* find_dtype(const std::string& s) {
    for (const auto& d : kDTypes)
        if (s == d.name) return &d;
    return nullptr;
}

std::string known_dtypes() {
    std::string s;
    for (const auto& d : kDTypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
    return s;
}

// Reads an unsigned JSON integer; anything else (negative, float, string) is an error.
uint64_t as_u64(const json& v, const std::function<void(const std::string&)>& fail, const std::string& what) {
    if (!v.is_number_unsigned()) {
        if (v.is_number_integer()) fail(what + " is negative (" + v.dump() + ")");
        fail(what + " must be a non-negative integer, got " + v.dump().substr(0, 40));
    }
    return v.get<uint64_t>();
}

}  // namespace

int64_t SafetensorsTensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // validated against overflow when parsed
    return n;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
    auto map = std::make_shared<const MappedFile>(path);
    f->name_ = path;
    f->parse_impl(map->data(), map->size());
    f->map_ = std::move(map);
    return f;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name) {
    std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->name_ = name;
    f->parse_impl(data, size);
    return f;
}

void SafetensorsFile::parse_impl(const uint8_t* data, size_t size) {
    size_ = size;
    auto fail = [&](const std::string& what) -> void { throw Error(name_ + ": " + what); };
    if (size < 8 || !data)
        fail("not a safetensors file: " + std::to_string(size) + " bytes is too short for the 8-byte header length");
    uint64_t header_len = 0;
    std::memcpy(&header_len, data, 8);  // little-endian, as on every platform hearth supports
    if (header_len > size - 8)
        fail("truncated: header length is " + std::to_string(header_len) + " bytes but only " +
             std::to_string(size - 8) + " bytes follow it");
    if (header_len > kMaxHeader)
        fail("header length " + std::to_string(header_len) + " exceeds the 100 MB limit of the format");
    if (header_len < 2 || data[8] != '{')
        fail("not a safetensors file: the header does not start with a JSON object");

    const char* hb = reinterpret_cast<const char*>(data + 8);
    json header = json::parse(hb, hb + header_len, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded()) fail("header is not valid JSON");
    if (!header.is_object()) fail("header is not a JSON object");

    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = size - data_start;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) fail("__metadata__ must be an object of strings");
            for (const auto& [k, v] : entry.items()) {
                if (!v.is_string()) fail("__metadata__." + k + " must be a string");
                meta_[k] = v.get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor '" + name + "'";
        auto tfail = [&](const std::string& what) { fail(where + ": " + what); };
        if (name.empty()) fail("a tensor has an empty name");
        if (!entry.is_object()) tfail("entry is not an object");
        SafetensorsTensor t;
        t.name = name;

        auto dt = entry.find("dtype");
        if (dt == entry.end() || !dt->is_string()) tfail("dtype is missing or not a string");
        t.dtype = dt->get<std::string>();
        const StDType* info = find_dtype(t.dtype);
        if (!info) tfail("unknown dtype \"" + t.dtype.substr(0, 40) + "\" (known: " + known_dtypes() + ")");
        t.hearth = info->hearth;

        auto sh = entry.find("shape");
        if (sh == entry.end() || !sh->is_array()) tfail("shape is missing or not an array");
        if (sh->size() > kMaxDims) tfail("shape has " + std::to_string(sh->size()) + " dimensions, at most 8 are supported");
        uint64_t n_elem = 1;
        for (size_t d = 0; d < sh->size(); ++d) {
            const uint64_t dim = as_u64((*sh)[d], tfail, "shape[" + std::to_string(d) + "]");
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                __builtin_mul_overflow(n_elem, dim, &n_elem) ||
                n_elem > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                tfail("element count overflows");
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        uint64_t want_bytes = 0;
        if (__builtin_mul_overflow(n_elem, uint64_t{info->bytes}, &want_bytes)) tfail("byte size overflows");

        auto off = entry.find("data_offsets");
        if (off == entry.end() || !off->is_array() || off->size() != 2)
            tfail("data_offsets is missing or not a [begin, end] pair");
        const uint64_t begin = as_u64((*off)[0], tfail, "data_offsets[0]");
        const uint64_t end = as_u64((*off)[1], tfail, "data_offsets[1]");
        if (end < begin) tfail("data_offsets end " + std::to_string(end) + " is before begin " + std::to_string(begin));
        if (end - begin != want_bytes)
            tfail("data_offsets span " + std::to_string(end - begin) + " bytes but " + t.dtype + " shape needs " +
                  std::to_string(want_bytes));
        if (end > data_size)
            tfail("truncated: data ends at offset " + std::to_string(end) + " of the data section (file offset " +
                  std::to_string(data_start + end) + "), file has " + std::to_string(size) +
                  " bytes; the data lies past the end of the file");
        t.offset = begin;
        t.nbytes = want_bytes;
        t.data = data + data_start + begin;
        index_.emplace(name, tensors_.size());  // JSON keys are unique after parsing
        tensors_.push_back(std::move(t));
    }

    // Overlapping tensors would alias each other's weights: a writer bug, never intended.
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const SafetensorsTensor& prev = tensors_[order[k - 1]];
        const SafetensorsTensor& cur = tensors_[order[k]];
        if (prev.offset + prev.nbytes > cur.offset && cur.nbytes > 0 && prev.nbytes > 0)
            fail("tensors '" + prev.name + "' and '" + cur.name + "' overlap in the data section");
    }
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace hearth::format
