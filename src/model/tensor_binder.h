#pragma once
// Finds a model's tensors by name and checks their shapes, so a family's weight binding is
// a list of names and expected shapes. Every mismatch throws hearth::Error naming the file,
// the tensor, the shape found and the shape expected.
#include <string>
#include <vector>

#include "backend/cpu/matmul.h"

namespace hearth::format {
class GGUFFile;
struct TensorInfo;
}  // namespace hearth::format

namespace hearth::model {

class TensorBinder {
public:
    explicit TensorBinder(const format::GGUFFile& f) : f_(f) {}

    bool has(const std::string& name) const;
    // A matrix of `rows` rows of `cols` elements (GGUF shape [cols, rows]); rows < 0: any.
    // Returns an empty Weight when absent and not required.
    backend::cpu::Weight matrix(const std::string& name, int64_t cols, int64_t rows, bool required = true) const;
    // A 3-D tensor [cols, rows, n] (n matrices back to back: experts, or MLA's per-head
    // projections) as one matrix of rows * n rows; empty when absent and not required.
    backend::cpu::Weight stacked(const std::string& name, int64_t cols, int64_t rows, int64_t n,
                                 bool required = true) const;
    // A 1-D tensor (norm gains, biases) converted to float; empty when absent and not required.
    std::vector<float> vec(const std::string& name, int64_t n, bool required = true) const;
    // The tensor info itself, with its type checked as computable.
    const format::TensorInfo* tensor(const std::string& name, bool required) const;
    [[noreturn]] void fail(const std::string& what) const;

private:
    const format::GGUFFile& f_;
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace hearth::model
