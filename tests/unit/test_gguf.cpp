// GGUF reader and writer: round trips through hearth's writer, byte-exact agreement with
// llama.cpp's Python `gguf` package (fixtures from tools/gen_gguf_fixture.py), and
// robustness against truncated, bit-flipped and hand-corrupted files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"

namespace hearth::format {
namespace {

using Bytes = std::vector<uint8_t>;

std::unique_ptr<GGUFFile> parse(const Bytes& b, const std::string& name = "test.gguf") {
    return GGUFFile::parse(b.data(), b.size(), name);
}

// Message of the hearth::Error that parsing throws; fails the test if it does not throw.
std::string parse_error(const Bytes& b) {
    try {
        parse(b, "bad.gguf");
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "parse did not throw";
    return "";
}

#define EXPECT_PARSE_ERROR(bytes, fragment)                                     \
    do {                                                                        \
        std::string msg_ = parse_error(bytes);                                  \
        EXPECT_NE(msg_.find(fragment), std::string::npos) << "message: " << msg_; \
        EXPECT_EQ(msg_.rfind("bad.gguf: ", 0), 0u) << "message: " << msg_;      \
    } while (0)

Bytes read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << path;
    return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Builds GGUF bytes field by field, independent of GGUFWriter, so that invalid files
// can be produced on purpose.
class Raw {
public:
    Raw& u8(uint8_t v) { return put(v); }
    Raw& u32(uint32_t v) { return put(v); }
    Raw& u64(uint64_t v) { return put(v); }
    Raw& str(const std::string& s) {
        u64(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        b.insert(b.end(), {'G', 'G', 'U', 'F'});
        return u32(version).u64(n_tensors).u64(n_kv);
    }
    Raw& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
    Raw& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(dims.size()));
        for (uint64_t d : dims) u64(d);
        return u32(type).u64(offset);
    }
    Raw& pad(size_t alignment) {
        while (b.size() % alignment) b.push_back(0);
        return *this;
    }
    Raw& zeros(size_t n) {
        b.insert(b.end(), n, 0);
        return *this;
    }
    Bytes b;

private:
    template <class T>
    Raw& put(T v) {
        uint8_t tmp[sizeof(T)];
        std::memcpy(tmp, &v, sizeof(T));
        b.insert(b.end(), tmp, tmp + sizeof(T));
        return *this;
    }
};

// Deep equality of two values, including declared array element types.
void expect_same(const GGUFValue& a, const GGUFValue& b, const std::string& where) {
    ASSERT_EQ(static_cast<int>(a.type), static_cast<int>(b.type)) << where;
    if (a.is_array()) {
        ASSERT_EQ(static_cast<int>(a.elem_type), static_cast<int>(b.elem_type)) << where;
        const auto& x = a.as_array();
        const auto& y = b.as_array();
        ASSERT_EQ(x.size(), y.size()) << where;
        for (size_t i = 0; i < x.size(); ++i) expect_same(x[i], y[i], where + "[" + std::to_string(i) + "]");
        return;
    }
    EXPECT_TRUE(a.v == b.v) << where << ": " << a.to_display() << " vs " << b.to_display();
}

std::vector<std::pair<std::string, GGUFValue>> all_value_types() {
    using T = GGUFType;
    std::vector<std::pair<std::string, GGUFValue>> kv;
    kv.emplace_back("u8", gguf_uint(T::UINT8, 200));
    kv.emplace_back("i8", gguf_int(T::INT8, -100));
    kv.emplace_back("u16", gguf_uint(T::UINT16, 65535));
    kv.emplace_back("i16", gguf_int(T::INT16, -32768));
    kv.emplace_back("u32", gguf_uint(T::UINT32, 4000000000u));
    kv.emplace_back("i32", gguf_int(T::INT32, std::numeric_limits<int32_t>::min()));
    kv.emplace_back("u64", gguf_uint(T::UINT64, std::numeric_limits<uint64_t>::max()));
    kv.emplace_back("i64", gguf_int(T::INT64, std::numeric_limits<int64_t>::min()));
    kv.emplace_back("f32", gguf_float(T::FLOAT32, 0.1));
    kv.emplace_back("f64", gguf_float(T::FLOAT64, 1e300));
    kv.emplace_back("nan", gguf_float(T::FLOAT64, std::numeric_limits<double>::infinity()));
    kv.emplace_back("bool_t", gguf_bool(true));
    kv.emplace_back("bool_f", gguf_bool(false));
    kv.emplace_back("str", gguf_string("naïve café ✓ 🦙 中文"));
    kv.emplace_back("str_empty", gguf_string(""));
    kv.emplace_back("str_nul", gguf_string(std::string("a\0b", 3)));
    kv.emplace_back("arr_u8", gguf_array(T::UINT8, {gguf_uint(T::UINT8, 1), gguf_uint(T::UINT8, 255)}));
    kv.emplace_back("arr_i64", gguf_array(T::INT64, {gguf_int(T::INT64, -1), gguf_int(T::INT64, 1LL << 62)}));
    kv.emplace_back("arr_f32", gguf_array(T::FLOAT32, {gguf_float(T::FLOAT32, 1.5), gguf_float(T::FLOAT32, -2)}));
    kv.emplace_back("arr_bool", gguf_array(T::BOOL, {gguf_bool(true), gguf_bool(false)}));
    kv.emplace_back("arr_str", gguf_string_array({"Ġthe", "", "日本", "<|endoftext|>"}));
    kv.emplace_back("arr_empty_u32", gguf_array(T::UINT32, {}));
    kv.emplace_back("arr_empty_str", gguf_array(T::STRING, {}));
    kv.emplace_back("arr_empty_arr", gguf_array(T::ARRAY, {}));
    kv.emplace_back("arr_nested",
                    gguf_array(T::ARRAY, {gguf_array(T::INT32, {gguf_int(T::INT32, 1), gguf_int(T::INT32, 2)}),
                                          gguf_array(T::STRING, {}),
                                          gguf_array(T::ARRAY, {gguf_string_array({"deep"})})}));
    return kv;
}

TEST(GGUFWriterReader, RoundTripsEveryValueType) {
    auto kv = all_value_types();
    GGUFWriter w;
    for (auto& [k, v] : kv) w.add(k, v);
    auto f = parse(w.to_bytes());
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->metadata().size(), kv.size());
    EXPECT_TRUE(f->tensors().empty());
    for (auto& [k, v] : kv) {
        ASSERT_TRUE(f->has(k)) << k;
        expect_same(*f->find(k), v, k);
    }
    EXPECT_FLOAT_EQ(static_cast<float>(f->get_float("f32")), 0.1f);
    EXPECT_EQ(f->get_string("str"), "naïve café ✓ 🦙 中文");
    EXPECT_EQ(f->get_string("str_nul").size(), 3u);
    EXPECT_EQ(f->find("arr_nested")->as_array()[2].as_array()[0].as_array()[0].as_string(), "deep");
}

TEST(GGUFWriterReader, TypedGettersAndErrors) {
    GGUFWriter w;
    w.add_u32("n", 7);
    w.add_i8("neg", -3);
    w.add_u64("big", std::numeric_limits<uint64_t>::max());
    w.add_string("s", "x");
    w.add_bool("b", true);
    w.add_f32("f", 0.5f);
    auto f = parse(w.to_bytes(), "m.gguf");
    EXPECT_EQ(f->get_int("n"), 7);
    EXPECT_EQ(f->get_int("neg"), -3);
    EXPECT_DOUBLE_EQ(f->get_float("n"), 7.0);  // ints are accepted as floats
    EXPECT_EQ(f->get_int("missing", 42), 42);
    EXPECT_EQ(f->get_string("missing", "d"), "d");
    EXPECT_TRUE(f->get_bool("b"));
    EXPECT_FALSE(f->get_bool("missing", false));
    EXPECT_DOUBLE_EQ(f->get_float("f", 1.0), 0.5);
    EXPECT_EQ(f->find("big")->as_uint(), std::numeric_limits<uint64_t>::max());
    EXPECT_THROW(f->find("neg")->as_uint(), Error);
    auto msg = [&](const std::function<void()>& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(msg([&] { f->get_int("missing"); }).find("m.gguf: missing metadata key missing"), std::string::npos);
    EXPECT_NE(msg([&] { f->get_int("s"); }).find("metadata key s: expected an integer, got string"),
              std::string::npos);
    EXPECT_NE(msg([&] { f->get_int("big"); }).find("does not fit in int64"), std::string::npos);
    EXPECT_NE(msg([&] { f->get_string("n", ""); }).find("expected a string, got uint32"), std::string::npos);
    EXPECT_NE(msg([&] { f->get_bool("n"); }).find("expected a bool"), std::string::npos);
    EXPECT_EQ(f->find("s")->to_display(), "\"x\"");
    EXPECT_EQ(gguf_string_array({"a", "b", "c"}).to_display(2), "string[3] [\"a\", \"b\", ...]");
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

void check_tensors(uint64_t alignment) {
    GGUFWriter w;
    if (alignment != 32) w.set_alignment(static_cast<uint32_t>(alignment));
    w.add_string("general.architecture", "test");
    struct Spec {
        std::string name;
        DType t;
        std::vector<int64_t> shape;
        size_t nbytes;
    };
    std::vector<Spec> specs = {
        {"f32", DType::F32, {3, 5}, 60},
        {"f16", DType::F16, {7}, 14},
        {"q8", DType::Q8_0, {64, 3}, 2 * 3 * 34},
        {"q4k", DType::Q4_K, {256, 1, 2}, 2 * 144},
        {"iq2xxs", DType::IQ2_XXS, {256}, 66},  // known but unsupported: still loadable as an info
        {"bf16", DType::BF16, {2, 2, 2, 2}, 32},
    };
    std::vector<Bytes> data;
    for (size_t i = 0; i < specs.size(); ++i) {
        data.push_back(pattern(specs[i].nbytes, static_cast<uint8_t>(i)));
        w.add_tensor(specs[i].name, specs[i].t, specs[i].shape, data.back());
    }
    Bytes bytes = w.to_bytes();
    EXPECT_EQ(bytes.size() % alignment, 0u);
    auto f = parse(bytes);
    EXPECT_EQ(f->alignment(), alignment);
    ASSERT_EQ(f->tensors().size(), specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        const TensorInfo& ti = f->tensors()[i];
        SCOPED_TRACE(ti.name);
        EXPECT_EQ(ti.name, specs[i].name);
        EXPECT_EQ(ti.dtype, specs[i].t);
        EXPECT_EQ(ti.shape, specs[i].shape);
        EXPECT_EQ(ti.nbytes, specs[i].nbytes);
        EXPECT_EQ(ti.offset % alignment, 0u);
        EXPECT_EQ(static_cast<size_t>(ti.data - bytes.data()) % alignment, 0u);
        EXPECT_EQ(0, std::memcmp(ti.data, data[i].data(), ti.nbytes));
        EXPECT_EQ(f->find_tensor(specs[i].name), &ti);
    }
    EXPECT_EQ(f->tensors()[3].rows(), 2);
    EXPECT_EQ(f->tensors()[3].n_elements(), 512);
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
}

TEST(GGUFWriterReader, TensorsAtDefaultAlignment) { check_tensors(32); }
TEST(GGUFWriterReader, TensorsAtCustomAlignment) {
    check_tensors(64);
    check_tensors(1);
    check_tensors(4096);
}

TEST(GGUFWriterReader, Version2) {
    GGUFWriter w(2);
    w.add_u32("x", 1);
    w.add_tensor("t", DType::F32, {4}, pattern(16, 1));
    auto f = parse(w.to_bytes());
    EXPECT_EQ(f->version(), 2u);
    EXPECT_EQ(f->tensors().size(), 1u);
    EXPECT_THROW(GGUFWriter(1), Error);
    EXPECT_THROW(GGUFWriter(4), Error);
}

TEST(GGUFWriterReader, WriteFileThenOpenMaps) {
    auto path = std::filesystem::temp_directory_path() / ("hearth_gguf_test_" + std::to_string(::getpid()) + ".gguf");
    Bytes t = pattern(34, 9);
    GGUFWriter w;
    w.add_string("general.architecture", "x");
    w.add_tensor_ref("w", DType::Q8_0, {32}, t.data(), t.size());
    w.write_file(path.string());
    EXPECT_EQ(read_file(path.string()), w.to_bytes());
    auto f = GGUFFile::open(path.string());
    EXPECT_EQ(f->path(), path.string());
    EXPECT_EQ(f->file_size(), std::filesystem::file_size(path));
    EXPECT_EQ(0, std::memcmp(f->tensors()[0].data, t.data(), 34));
    std::filesystem::remove(path);
    try {
        GGUFFile::open(path.string());
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(path.string() + ": ", 0), 0u) << e.what();
    }
}

TEST(GGUFWriter, RejectsInvalidInput) {
    GGUFWriter w;
    w.add_u32("k", 1);
    EXPECT_THROW(w.add_u32("k", 2), Error);
    EXPECT_THROW(w.add("", gguf_bool(true)), Error);
    EXPECT_THROW(w.add("general.alignment", gguf_uint(GGUFType::UINT32, 48)), Error);
    EXPECT_THROW(w.add("general.alignment", gguf_uint(GGUFType::UINT32, 0)), Error);
    EXPECT_THROW(gguf_uint(GGUFType::UINT8, 256), Error);
    EXPECT_THROW(gguf_int(GGUFType::INT16, 40000), Error);
    EXPECT_THROW(gguf_uint(GGUFType::INT32, 1), Error);
    EXPECT_THROW(gguf_array(GGUFType::UINT8, {gguf_bool(true)}), Error);
    EXPECT_THROW(w.add_tensor("t", DType::F32, {4}, Bytes(15)), Error);         // wrong byte count
    EXPECT_THROW(w.add_tensor("t", DType::Q8_0, {33}, Bytes(34)), Error);       // row not whole blocks
    EXPECT_THROW(w.add_tensor("t", DType::F32, {}, Bytes(4)), Error);           // no dims
    EXPECT_THROW(w.add_tensor("t", DType::F32, {1, 1, 1, 1, 1}, Bytes(4)), Error);
    EXPECT_THROW(w.add_tensor("t", DType::F32, {0}, Bytes()), Error);
    EXPECT_THROW(w.add_tensor(std::string(64, 'n'), DType::F32, {1}, Bytes(4)), Error);
    EXPECT_THROW(w.add_tensor("t", static_cast<DType>(4), {1}, Bytes(4)), Error);
    w.add_tensor("t", DType::F32, {1}, Bytes(4));
    EXPECT_THROW(w.add_tensor("t", DType::F32, {1}, Bytes(4)), Error);
    EXPECT_EQ(w.n_tensors(), 1u);
}

// ---- independent reference: files written by llama.cpp's Python gguf package -----------

GGUFType type_from_name(const std::string& s) {
    static const char* names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                  "BOOL",  "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
    for (uint32_t i = 0; i < 13; ++i) {
        if (s == names[i]) return static_cast<GGUFType>(i);
    }
    throw std::runtime_error("bad type name " + s);
}

// The GGUFValue the JSON describes (the exact value written by the Python tool).
GGUFValue from_json(const nlohmann::ordered_json& j) {
    GGUFType t = type_from_name(j.at("type").get<std::string>());
    const auto& v = j.at("value");
    switch (t) {
        case GGUFType::UINT8: case GGUFType::UINT16: case GGUFType::UINT32: case GGUFType::UINT64:
            return gguf_uint(t, v.get<uint64_t>());
        case GGUFType::INT8: case GGUFType::INT16: case GGUFType::INT32: case GGUFType::INT64:
            return gguf_int(t, v.get<int64_t>());
        case GGUFType::FLOAT32: case GGUFType::FLOAT64: return gguf_float(t, v.get<double>());
        case GGUFType::BOOL: return gguf_bool(v.get<bool>());
        case GGUFType::STRING: return gguf_string(v.get<std::string>());
        case GGUFType::ARRAY: {
            GGUFArray items;
            for (const auto& item : v) items.push_back(from_json(item));
            return gguf_array(type_from_name(j.at("elem_type").get<std::string>()), std::move(items));
        }
    }
    throw std::runtime_error("unreachable");
}

std::string hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

void check_python_fixture(const std::string& stem) {
    std::string dir = std::string(HEARTH_FIXTURES) + "/gguf/";
    std::ifstream jf(dir + stem + ".json");
    ASSERT_TRUE(jf.good()) << "missing fixture; run tools/gen_gguf_fixture.py";
    auto doc = nlohmann::ordered_json::parse(jf);
    auto f = GGUFFile::open(dir + stem + ".gguf");
    Bytes bytes = read_file(dir + stem + ".gguf");

    EXPECT_EQ(f->version(), doc["version"].get<uint32_t>());
    EXPECT_EQ(f->alignment(), doc["alignment"].get<uint64_t>());
    EXPECT_EQ(f->file_size(), doc["file_size"].get<uint64_t>());
    ASSERT_EQ(f->metadata().size(), doc["metadata"].size());
    for (const auto& [key, jv] : doc["metadata"].items()) {
        const GGUFValue* v = f->find(key);
        ASSERT_NE(v, nullptr) << key;
        expect_same(*v, from_json(jv), key);
    }
    ASSERT_EQ(f->tensors().size(), doc["tensors"].size());
    for (size_t i = 0; i < f->tensors().size(); ++i) {
        const TensorInfo& ti = f->tensors()[i];
        const auto& jt = doc["tensors"][i];
        SCOPED_TRACE(ti.name);
        EXPECT_EQ(ti.name, jt["name"].get<std::string>());
        EXPECT_EQ(static_cast<uint32_t>(ti.dtype), jt["type"].get<uint32_t>());
        EXPECT_EQ(dtype_name(ti.dtype), jt["type_name"].get<std::string>());
        EXPECT_EQ(ti.shape, jt["shape"].get<std::vector<int64_t>>());
        EXPECT_EQ(ti.n_elements(), jt["n_elements"].get<int64_t>());
        EXPECT_EQ(ti.nbytes, jt["n_bytes"].get<uint64_t>());
        EXPECT_EQ(ti.offset, jt["offset"].get<uint64_t>());
        EXPECT_EQ(hex(ti.data, ti.nbytes), jt["data_hex"].get<std::string>());
    }
    if (!f->tensors().empty()) {
        // Data section start as the Python reader computes it.
        const uint8_t* map_base = f->tensors()[0].data - f->tensors()[0].offset - doc["data_offset"].get<uint64_t>();
        for (size_t i = 0; i < f->tensors().size(); ++i) {
            EXPECT_EQ(static_cast<uint64_t>(f->tensors()[i].data - map_base),
                      doc["tensors"][i]["file_offset"].get<uint64_t>());
        }
    }

    // hearth's writer, fed the same metadata and tensors in the same order, must produce
    // the very same bytes as llama.cpp's writer.
    GGUFWriter w;
    for (const auto& [key, jv] : doc["metadata"].items()) w.add(key, from_json(jv));
    for (const TensorInfo& ti : f->tensors()) w.add_tensor_ref(ti.name, ti.dtype, ti.shape, ti.data, ti.nbytes);
    EXPECT_TRUE(w.to_bytes() == bytes) << "hearth's writer differs from gguf-py for " << stem;
}

TEST(GGUFReference, MatchesPythonGGUFDefaultAlignment) { check_python_fixture("reference"); }
TEST(GGUFReference, MatchesPythonGGUFCustomAlignment) { check_python_fixture("aligned64"); }

TEST(GGUFReference, RejectsBigEndianFileFromPython) {
    Bytes b = read_file(std::string(HEARTH_FIXTURES) + "/gguf/bigendian.gguf");
    EXPECT_PARSE_ERROR(b, "big-endian GGUF files are not supported");
}

// ---- robustness -------------------------------------------------------------------------

// A small valid file whose last tensor ends exactly at the end of the file, so that every
// strict prefix is invalid.
Bytes small_valid_file() {
    GGUFWriter w;
    w.add_string("general.architecture", "qwen2");
    w.add_u32("qwen2.block_count", 1);
    w.add("tokenizer.ggml.tokens", gguf_string_array({"a", "bc", "Ġ"}));
    w.add("nested", gguf_array(GGUFType::ARRAY, {gguf_array(GGUFType::INT8, {gguf_int(GGUFType::INT8, -1)})}));
    w.add_f32("eps", 1e-6f);
    w.add_tensor("a", DType::Q8_0, {32}, pattern(34, 3));
    w.add_tensor("b", DType::F32, {8}, pattern(32, 4));
    return w.to_bytes();
}

TEST(GGUFRobustness, EveryTruncationThrows) {
    Bytes full = small_valid_file();
    ASSERT_NO_THROW(parse(full));
    for (size_t n = 0; n < full.size(); ++n) {
        Bytes prefix(full.begin(), full.begin() + static_cast<long>(n));
        std::string msg = parse_error(prefix);
        EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("not a GGUF file") != std::string::npos)
            << "prefix " << n << ": " << msg;
    }
}

// Touches every parsed value and every tensor byte, so that a bad pointer shows up (under
// the sanitizers, or as a crash).
uint64_t touch_all(const GGUFFile& f) {
    uint64_t h = 0;
    for (const auto& [k, v] : f.metadata()) h += k.size() + v.to_display(1000).size();
    for (const TensorInfo& ti : f.tensors()) {
        for (uint64_t i = 0; i < ti.nbytes; ++i) h += ti.data[i];
    }
    return h;
}

TEST(GGUFRobustness, RandomByteFlipsParseOrThrow) {
    std::vector<Bytes> seeds = {small_valid_file(),
                                read_file(std::string(HEARTH_FIXTURES) + "/gguf/reference.gguf")};
    std::mt19937_64 rng(20240607);
    int parsed = 0, rejected = 0;
    for (int iter = 0; iter < 6000; ++iter) {
        Bytes b = seeds[static_cast<size_t>(iter) % seeds.size()];
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            size_t pos = rng() % b.size();
            if (rng() % 2) {
                b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
            } else {
                b[pos] = static_cast<uint8_t>(rng());
            }
        }
        try {
            auto f = parse(b);
            touch_all(*f);
            ++parsed;
        } catch (const Error&) {
            ++rejected;
        }
    }
    EXPECT_GT(parsed, 0);  // flips inside tensor data or string bytes keep the file valid
    EXPECT_GT(rejected, 0);
}

TEST(GGUFRobustness, HeaderErrors) {
    EXPECT_PARSE_ERROR(Bytes{}, "not a GGUF file");
    EXPECT_PARSE_ERROR((Bytes{'G', 'G', 'M', 'L', 3, 0, 0, 0}), "not a GGUF file: magic is \"GGML\"");
    EXPECT_PARSE_ERROR(Raw().header(0, 0, 1).b, "GGUF version 1 is not supported");
    EXPECT_PARSE_ERROR(Raw().header(0, 0, 4).b, "unsupported GGUF version 4");
    EXPECT_PARSE_ERROR(Raw().header(0, 0, 0x03000000).b, "big-endian");
    EXPECT_PARSE_ERROR((Bytes{'G', 'G', 'U', 'F', 3, 0}), "truncated: header needs 4 bytes at offset 4, file has 6");
    EXPECT_PARSE_ERROR(Raw().header(1ULL << 60, 0).zeros(64).b, "header claims 1152921504606846976 tensors");
    EXPECT_PARSE_ERROR(Raw().header(0, 1ULL << 62).zeros(64).b, "metadata entries");
    // A valid empty file: no metadata, no tensors, no data section.
    EXPECT_NO_THROW(parse(Raw().header(0, 0).b));
    EXPECT_NO_THROW(parse(Raw().header(0, 0, 2).b));
}

TEST(GGUFRobustness, MetadataErrors) {
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("k").u32(13).u32(0).b, "metadata entry 0 (k): unknown value type 13");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("k").u32(7).u8(2).b, "bool value is 2");
    EXPECT_PARSE_ERROR(Raw().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b,
                       "metadata entry 1 (k): duplicate metadata key 'k'");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("").u32(4).u32(1).b, "key is empty");
    // A key length far past the end must not allocate.
    EXPECT_PARSE_ERROR(Raw().header(0, 1).u64(1ULL << 62).zeros(16).b,
                       "truncated: metadata entry 0 needs 4611686018427387904 bytes at offset 32, file has 48");
    // An array claiming 2^61 elements must not allocate either.
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("arr").u32(9).u32(10).u64(1ULL << 61).zeros(64).b,
                       "metadata entry 0 (arr): truncated: array claims 2305843009213693952 uint64 elements");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("arr").u32(9).u32(42).u64(0).b, "unknown array element type 42");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("s").u32(9).u32(8).u64(2).str("ok").u64(100).b,
                       "truncated: metadata entry 0 (s) element [1] needs 100 bytes");
    Raw deep;
    deep.header(0, 1).str("deep").u32(9);
    for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
    deep.u32(0).u64(0);
    EXPECT_PARSE_ERROR(deep.b, "nested deeper than 8");
}

TEST(GGUFRobustness, AlignmentErrors) {
    EXPECT_PARSE_ERROR(Raw().header(0, 1).kv_u32("general.alignment", 0).b, "general.alignment is 0, must be a non-zero power of two");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).kv_u32("general.alignment", 48).b, "general.alignment is 48");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("general.alignment").u32(8).str("32").b,
                       "general.alignment must be an integer, got string");
    EXPECT_PARSE_ERROR(Raw().header(0, 1).str("general.alignment").u32(11).u64(~0ULL).b, "general.alignment is -1");
    auto f = parse(Raw().header(0, 1).kv_u32("general.alignment", 16).b);
    EXPECT_EQ(f->alignment(), 16u);
}

// One tensor info after an empty metadata section, followed by `data` bytes of data.
Bytes one_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
                 size_t data = 64) {
    return Raw().header(1, 0).tensor(name, std::move(dims), type, offset).pad(32).zeros(data).b;
}

TEST(GGUFRobustness, TensorInfoErrors) {
    EXPECT_NO_THROW(parse(one_tensor("w", {16}, 0, 0)));
    EXPECT_PARSE_ERROR(one_tensor("w", {16}, 4, 0), "tensor info 0 (w): unknown tensor type id 4");
    EXPECT_PARSE_ERROR(one_tensor("w", {16}, 99, 0), "unknown tensor type id 99");
    EXPECT_PARSE_ERROR(one_tensor("w", {16, 0}, 0, 0), "tensor info 0 (w): dimension 1 is 0");
    EXPECT_PARSE_ERROR(one_tensor("w", {}, 0, 0), "n_dims is 0, must be 1 to 4");
    EXPECT_PARSE_ERROR(one_tensor("w", {1, 1, 1, 1, 1}, 0, 0), "n_dims is 5");
    EXPECT_PARSE_ERROR(one_tensor("w", {1ULL << 32, 1ULL << 32}, 0, 0), "element count overflows");
    EXPECT_PARSE_ERROR(one_tensor("w", {1ULL << 63}, 0, 0), "dimension 0 is 9223372036854775808, too large");
    EXPECT_PARSE_ERROR(one_tensor("w", {1ULL << 62}, 0, 0), "byte size overflows");
    EXPECT_PARSE_ERROR(one_tensor("w", {33}, 8, 0), "row size 33 is not a multiple of the Q8_0 block size 32");
    EXPECT_PARSE_ERROR(one_tensor("", {16}, 0, 0), "tensor name is empty");
    EXPECT_PARSE_ERROR(one_tensor(std::string(64, 'x'), {16}, 0, 0), "tensor name is 64 bytes long, at most 63");
    EXPECT_NO_THROW(parse(one_tensor(std::string(63, 'x'), {16}, 0, 0)));
    EXPECT_PARSE_ERROR(one_tensor("w", {4}, 0, 16), "data offset 16 is not a multiple of the alignment 32");
    EXPECT_PARSE_ERROR(one_tensor("w", {16}, 0, 32), "data lies past the end of the file");
    EXPECT_PARSE_ERROR(one_tensor("w", {16}, 0, 1ULL << 63), "past the end");
    EXPECT_PARSE_ERROR(one_tensor("w", {17}, 0, 0), "truncated: tensor 0 (w) data needs 68 bytes");
    // Known but unsupported types are loadable as infos.
    auto f = parse(one_tensor("iq", {256}, 16, 0, 96));
    EXPECT_EQ(f->tensors()[0].dtype, DType::IQ2_XXS);
    EXPECT_EQ(f->tensors()[0].nbytes, 66u);
}

TEST(GGUFRobustness, TensorLayoutErrors) {
    Bytes dup = Raw().header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad(32).zeros(64).b;
    EXPECT_PARSE_ERROR(dup, "tensor info 1 (w): duplicate tensor name 'w'");
    Bytes overlap = Raw().header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad(32).zeros(64).b;
    EXPECT_PARSE_ERROR(overlap, "tensors 'a' (data offset 0, 64 bytes) and 'b' (data offset 32) overlap");
    Bytes ok = Raw().header(2, 0).tensor("a", {8}, 0, 32).tensor("b", {8}, 0, 0).pad(32).zeros(64).b;
    EXPECT_NO_THROW(parse(ok));
    // The data section must start at the aligned position after the infos.
    Bytes no_data = Raw().header(1, 0).tensor("w", {1}, 0, 0).b;
    EXPECT_PARSE_ERROR(no_data, "truncated: tensor data section starts at offset");
    Bytes cut = Raw().header(1, 0).tensor("blk.0.attn_q.weight", {8}, 0, 0).b;
    cut.erase(cut.end() - 3, cut.end());
    EXPECT_PARSE_ERROR(cut, "truncated: tensor info 0 (blk.0.attn_q.weight) needs 8 bytes at offset 67, file has 72");
}

// ---- the real model ---------------------------------------------------------------------

TEST(GGUFModel, OpensDefaultModel) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path || !*path) GTEST_SKIP() << "HEARTH_MODEL is not set";
    auto f = GGUFFile::open(path);
    EXPECT_EQ(f->get_string("general.architecture"), "qwen2");
    EXPECT_EQ(f->tensors().size(), 291u);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_GT(f->find("tokenizer.ggml.tokens")->as_array().size(), 150000u);
    const TensorInfo* emb = f->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->shape[0], f->get_int("qwen2.embedding_length"));
    const uint8_t* data_section = emb->data - emb->offset;
    for (const TensorInfo& ti : f->tensors()) {
        EXPECT_TRUE(dtype_info(ti.dtype).supported) << ti.name;
        EXPECT_EQ(ti.data, data_section + ti.offset) << ti.name;
    }
}

}  // namespace
}  // namespace hearth::format
