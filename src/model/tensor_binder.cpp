#include "model/tensor_binder.h"

#include "core/error.h"
#include "format/gguf.h"
#include "quant/quant.h"

namespace hearth::model {

std::string shape_string(const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}

void TensorBinder::fail(const std::string& what) const { throw Error(f_.path() + ": " + what); }

bool TensorBinder::has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }

const format::TensorInfo* TensorBinder::tensor(const std::string& name, bool required) const {
    const format::TensorInfo* t = f_.find_tensor(name);
    if (!t && required) fail("missing tensor " + name);
    if (t && !dtype_info(t->dtype).supported)
        fail("tensor " + name + " has type " + std::string(dtype_name(t->dtype)) + ", which hearth cannot compute yet");
    return t;
}

backend::cpu::Weight TensorBinder::matrix(const std::string& name, int64_t cols, int64_t rows, bool required) const {
    const format::TensorInfo* t = tensor(name, required);
    if (!t) return {};
    if (t->shape.size() != 2 || t->shape[0] != cols || (rows >= 0 && t->shape[1] != rows))
        fail("tensor " + name + " has shape " + shape_string(t->shape) + ", expected [" + std::to_string(cols) + ", " +
             (rows >= 0 ? std::to_string(rows) : "?") + "]");
    return backend::cpu::Weight::over(t->dtype, t->shape[1], t->shape[0], t->data);
}

backend::cpu::Weight TensorBinder::stacked(const std::string& name, int64_t cols, int64_t rows, int64_t n,
                                           bool required) const {
    const format::TensorInfo* t = tensor(name, required);
    if (!t) return {};
    if (t->shape.size() != 3 || t->shape[0] != cols || t->shape[1] != rows || t->shape[2] != n)
        fail("tensor " + name + " has shape " + shape_string(t->shape) + ", expected [" + std::to_string(cols) + ", " +
             std::to_string(rows) + ", " + std::to_string(n) + "]");
    return backend::cpu::Weight::over(t->dtype, rows * n, cols, t->data);
}

std::vector<float> TensorBinder::vec(const std::string& name, int64_t n, bool required) const {
    const format::TensorInfo* t = tensor(name, required);
    if (!t) return {};
    if (t->n_elements() != n)
        fail("tensor " + name + " has shape " + shape_string(t->shape) + ", expected " + std::to_string(n) + " elements");
    std::vector<float> out(static_cast<size_t>(n));
    quant::dequantize_row(t->dtype, t->data, out.data(), n);
    return out;
}

}  // namespace hearth::model
