#pragma once
// safetensors reader: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// raw tensor bytes. The file is memory-mapped and tensors are used in place. Every length,
// shape and offset is checked (overflow-safe) against the file before use, so a corrupt or
// truncated file raises one hearth::Error naming the file and the tensor.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace hearth::format {

struct SafetensorsTensor {
    std::string name;
    std::string dtype;            // as written in the header ("BF16", "F8_E4M3", ...)
    std::optional<DType> hearth;  // F32, F16, BF16 (what hearth computes with); else nullopt
    std::vector<int64_t> shape;   // torch order: shape[0] is the outermost dimension
    uint64_t offset = 0;          // relative to the start of the data section
    uint64_t nbytes = 0;
    const uint8_t* data = nullptr;

    int64_t n_elements() const;
};

class SafetensorsFile {
public:
    // Opens, maps and validates; throws hearth::Error("<path>: <what is wrong>").
    static std::unique_ptr<SafetensorsFile> open(const std::string& path);
    // Parses a buffer that must outlive the result (fuzzer, tests); `name` is used in errors.
    static std::unique_ptr<SafetensorsFile> parse(const uint8_t* data, size_t size, const std::string& name);

    const std::string& path() const { return name_; }
    uint64_t file_size() const { return size_; }
    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    const SafetensorsTensor* find(const std::string& name) const;
    const std::map<std::string, std::string>& metadata() const { return meta_; }
    // The map holding the tensor bytes (null for parse()); shared so views built on this
    // file's tensors can keep it alive after the SafetensorsFile is gone.
    std::shared_ptr<const MappedFile> mapping() const { return map_; }

private:
    SafetensorsFile() = default;
    void parse_impl(const uint8_t* data, size_t size);

    std::shared_ptr<const MappedFile> map_;
    std::string name_;
    uint64_t size_ = 0;
    std::vector<SafetensorsTensor> tensors_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> meta_;
};

}  // namespace hearth::format
