// Large metadata arrays of an opened file stay packed in the map (format/gguf.h): the same
// values through every accessor as the expanded form, the same errors on a corrupt file, and
// a writer that copies them unchanged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "core/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"

namespace hearth::format {
namespace {

struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& tag)
        : path(std::filesystem::temp_directory_path() / ("hearth_packed_" + tag + "_" + std::to_string(::getpid()) + ".gguf")) {}
    ~TempFile() { std::filesystem::remove(path); }
    void write(const std::vector<uint8_t>& b) const {
        std::ofstream o(path, std::ios::binary);
        o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
};

std::vector<std::string> random_strings(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::string> v(n);
    for (size_t i = 0; i < n; ++i) {
        const size_t len = i % 97 == 0 ? 0 : rng() % (i % 5 == 0 ? 40 : 8);  // empty, short and long (heap) strings
        for (size_t k = 0; k < len; ++k) v[i] += static_cast<char>(rng() % 256);
    }
    return v;
}

GGUFArray ints(size_t n) {
    GGUFArray a;
    for (size_t i = 0; i < n; ++i) a.push_back(gguf_int(GGUFType::INT32, static_cast<int64_t>(i * 7919 % 1000) - 500));
    return a;
}

GGUFArray floats(size_t n) {
    GGUFArray a;
    for (size_t i = 0; i < n; ++i) a.push_back(gguf_float(GGUFType::FLOAT32, static_cast<double>(i) * -0.25));
    return a;
}

GGUFArray bools(size_t n) {
    GGUFArray a;
    for (size_t i = 0; i < n; ++i) a.push_back(gguf_bool(i % 3 == 0));
    return a;
}

GGUFWriter sample_writer(const std::vector<std::string>& strs) {
    GGUFWriter w;
    w.add("big.strings", gguf_string_array(strs));
    w.add_array("big.ints", GGUFType::INT32, ints(300));
    w.add_array("big.floats", GGUFType::FLOAT32, floats(1000));
    w.add_array("big.bools", GGUFType::BOOL, bools(257));
    w.add("small.strings", gguf_string_array({"a", "bc"}));
    w.add_string("after", "still read");
    std::vector<uint8_t> t(4 * 8);
    w.add_tensor("t", DType::F32, {8}, t);
    return w;
}

TEST(GGUFPacked, LargeArraysReadTheSameAsParsedOnes) {
    const auto strs = random_strings(3000, 1);
    const GGUFWriter w = sample_writer(strs);
    const std::vector<uint8_t> bytes = w.to_bytes();
    TempFile tf("same");
    tf.write(bytes);
    auto opened = GGUFFile::open(tf.path.string());
    auto parsed = GGUFFile::parse(bytes.data(), bytes.size(), "buffer");  // a caller's buffer: always expanded

    for (const char* key : {"big.strings", "big.ints", "big.floats", "big.bools"}) {
        SCOPED_TRACE(key);
        const GGUFValue* p = opened->find(key);
        const GGUFValue* e = parsed->find(key);
        ASSERT_TRUE(p && e);
        EXPECT_TRUE(p->packed) << "a large array of an opened file stays in the map";
        EXPECT_FALSE(e->packed);
        ASSERT_EQ(p->array_size(), e->array_size());
        for (size_t i = 0; i < p->array_size(); ++i) {
            const GGUFValue a = p->array_at(i), b = e->as_array()[i];
            ASSERT_EQ(a.type, b.type);
            ASSERT_EQ(a.to_display(), b.to_display()) << i;
        }
        EXPECT_EQ(p->to_display(), e->to_display());
        // Expanding on request gives the same values.
        const GGUFArray& full = p->as_array();
        ASSERT_EQ(full.size(), e->array_size());
        for (size_t i = 0; i < full.size(); ++i) ASSERT_EQ(full[i].to_display(), e->as_array()[i].to_display());
    }
    const GGUFValue* s = opened->find("big.strings");
    for (size_t i = 0; i < strs.size(); ++i) ASSERT_EQ(s->array_string(i), strs[i]) << i;
    EXPECT_FALSE(opened->find("small.strings")->packed);
    EXPECT_EQ(opened->find("small.strings")->array_string(1), "bc");
    EXPECT_EQ(opened->get_string("after"), "still read");
    EXPECT_EQ(opened->tensors().size(), 1u);

    EXPECT_THROW(s->array_string(strs.size()), Error);
    EXPECT_THROW(s->array_at(strs.size()), Error);
    EXPECT_THROW(opened->find("big.ints")->array_string(0), Error);
    EXPECT_THROW(opened->find("after")->array_size(), Error);
}

TEST(GGUFPacked, WriterCopiesPackedArraysUnchanged) {
    const GGUFWriter w = sample_writer(random_strings(500, 2));
    const std::vector<uint8_t> bytes = w.to_bytes();
    TempFile tf("copy");
    tf.write(bytes);
    auto opened = GGUFFile::open(tf.path.string());
    GGUFWriter copy;
    for (const auto& [key, value] : opened->metadata()) copy.add(key, value);
    std::vector<uint8_t> t(4 * 8);
    copy.add_tensor("t", DType::F32, {8}, t);
    const std::vector<uint8_t> copied = copy.to_bytes();
    auto reread = GGUFFile::parse(copied.data(), copied.size(), "copy");
    auto original = GGUFFile::parse(bytes.data(), bytes.size(), "original");
    ASSERT_EQ(reread->metadata().size(), original->metadata().size());
    for (const auto& [key, value] : original->metadata()) {
        const GGUFValue* v = reread->find(key);
        ASSERT_TRUE(v) << key;
        EXPECT_EQ(v->to_display(1u << 20), value.to_display(1u << 20)) << key;
    }
}

// Finds `needle` in `hay` (the first occurrence).
size_t find_bytes(const std::vector<uint8_t>& hay, const std::string& needle) {
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
    return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
}

TEST(GGUFPacked, CorruptLargeArraysAreRejectedAtOpen) {
    std::vector<std::string> strs(400, "tok");
    strs[300] = "MARKER-STRING";
    const std::vector<uint8_t> good = sample_writer(strs).to_bytes();

    // A string length inside the packed array that runs past the end of the file.
    std::vector<uint8_t> bad_len = good;
    const size_t at = find_bytes(bad_len, "MARKER-STRING");
    ASSERT_NE(at, std::string::npos);
    const uint64_t huge = uint64_t{1} << 40;
    std::memcpy(bad_len.data() + at - 8, &huge, 8);
    TempFile t1("badlen");
    t1.write(bad_len);
    try {
        GGUFFile::open(t1.path.string());
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("big.strings"), std::string::npos) << m;
        EXPECT_NE(m.find("[300]"), std::string::npos) << m;
        EXPECT_NE(m.find("truncated"), std::string::npos) << m;
    }

    // A bool of 2 in the packed bool array.
    std::vector<uint8_t> bad_bool = good;
    const size_t key = find_bytes(bad_bool, "big.bools");
    ASSERT_NE(key, std::string::npos);
    const size_t first = key + std::strlen("big.bools") + 4 + 4 + 8;  // value type, element type, count
    bad_bool[first + 5] = 2;
    TempFile t2("badbool");
    t2.write(bad_bool);
    try {
        GGUFFile::open(t2.path.string());
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("[5]"), std::string::npos) << m;
        EXPECT_NE(m.find("must be 0 or 1"), std::string::npos) << m;
    }

    // Truncated in the middle of the packed float array.
    const size_t fkey = find_bytes(good, "big.floats");
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(fkey + 40));
    TempFile t3("cut");
    t3.write(cut);
    EXPECT_THROW(GGUFFile::open(t3.path.string()), Error);
}

}  // namespace
}  // namespace hearth::format
