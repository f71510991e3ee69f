// hearth quantize IN OUT TYPE: re-encode a GGUF file's weights (see quant/quantize_file.h).
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/common.h"
#include "core/error.h"
#include "core/units.h"
#include "quant/quantize_file.h"

namespace hearth::cli {
namespace {

struct QuantizeCliOptions {
    std::string in, out, type;
    int threads = 0;
    bool allow_requantize = false;
};

std::string types_help() {
    std::string s = "TYPE is one of:\n";
    for (const auto& t : quant::file_types()) {
        char line[160];
        std::snprintf(line, sizeof line, "  %-7s %s\n", std::string(t.name).c_str(), std::string(t.help).c_str());
        s += line;
    }
    s += "1-D tensors and norms stay as they are. K-quant weights whose rows are not a multiple of 256\n"
         "fall back as llama.cpp does (Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0).";
    return s;
}

void quantize(const QuantizeCliOptions& o) {
    const quant::FileTypeSpec* ft = quant::find_file_type(o.type);
    if (!ft) throw Error("unknown quantization type '" + o.type + "'\n" + types_help());
    quant::QuantizeOptions qo;
    qo.threads = o.threads;
    qo.allow_requantize = o.allow_requantize;
    qo.warn = [](const std::string& s) { std::fprintf(stderr, "hearth: warning: %s\n", s.c_str()); };
    std::fprintf(stderr, "quantizing %s -> %s as %s\n", o.in.c_str(), o.out.c_str(), std::string(ft->name).c_str());
    const quant::QuantizeReport r = quant::quantize_file(o.in, o.out, *ft, qo);
    uint64_t converted = 0;
    for (const auto& p : r.plan) converted += p.convert ? 1 : 0;
    std::printf("wrote %s: %zu tensors (%" PRIu64 " converted, %zu copied) in %.1f s\n", o.out.c_str(), r.plan.size(),
                converted, r.plan.size() - static_cast<size_t>(converted), r.seconds);
    std::printf("| %-6s | %7s | %12s |\n", "type", "tensors", "bytes");
    std::printf("| :----- | ------: | -----------: |\n");
    for (const auto& [name, e] : r.by_type)
        std::printf("| %-6s | %7" PRIu64 " | %12s |\n", name.c_str(), e.tensors, human_bytes(static_cast<double>(e.bytes)).c_str());
    const double ratio = r.input_file_bytes ? static_cast<double>(r.output_file_bytes) / static_cast<double>(r.input_file_bytes) : 0;
    std::printf("size: %s -> %s (%.3fx of the input)\n", human_bytes(static_cast<double>(r.input_file_bytes)).c_str(),
                human_bytes(static_cast<double>(r.output_file_bytes)).c_str(), ratio);
}

}  // namespace

void register_quantize(CLI::App& app) {
    auto o = std::make_shared<QuantizeCliOptions>();
    CLI::App* sub = app.add_subcommand("quantize", "write a copy of a GGUF model with its weights quantized");
    sub->add_option("IN", o->in, "input GGUF (F32/F16/BF16 weights; quantized ones with --allow-requantize)")->required();
    sub->add_option("OUT", o->out, "output GGUF (written as OUT.tmp, renamed when complete)")->required();
    sub->add_option("TYPE", o->type, "target type, see below")->required();
    sub->add_option("-t,--threads", o->threads, "CPU threads (default: all cores)")->check(CLI::Range(0, 1024));
    sub->add_flag("--allow-requantize", o->allow_requantize,
                  "also convert tensors that are already quantized (dequantized first; loses accuracy)");
    sub->footer(types_help());
    sub->callback([o] { quantize(*o); });
}

}  // namespace hearth::cli
