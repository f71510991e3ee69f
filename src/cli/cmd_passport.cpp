// hearth passport: what a model file is and where it claims to come from (audit/passport.h).
#include <cstdio>
#include <fstream>

#include "audit/passport.h"
#include "cli/common.h"
#include "core/error.h"

namespace hearth::cli {
namespace {

struct PassportOptions {
    std::string path, json_out, md_out, cdx_out;
};

void write_file(const std::string& path, const std::string& text) {
    if (path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return;
    }
    std::ofstream out(path, std::ios::binary);
    if (!out) throw Error(path + ": cannot write");
    out << text;
    if (!out) throw Error(path + ": write failed");
}

void passport(const PassportOptions& o) {
    audit::Passport p = audit::make_passport(o.path, true);
    if (!o.json_out.empty()) write_file(o.json_out, audit::passport_json(p).dump(2) + "\n");
    if (!o.md_out.empty()) write_file(o.md_out, audit::passport_markdown(p));
    if (!o.cdx_out.empty()) write_file(o.cdx_out, audit::passport_cyclonedx(p).dump(2) + "\n");
    if (o.json_out != "-" && o.md_out != "-" && o.cdx_out != "-") {
        const std::string md = audit::passport_markdown(p);
        std::fwrite(md.data(), 1, md.size(), stdout);
    }
}

}  // namespace

void register_passport(CLI::App& app) {
    auto o = std::make_shared<PassportOptions>();
    CLI::App* sub = app.add_subcommand(
        "passport", "hash a model file and report its architecture, tokenizer, template, licence and lineage");
    sub->add_option("file", o->path, "GGUF model file")->required();
    sub->add_option("--json", o->json_out, "write the passport as JSON to this file ('-' = stdout)");
    sub->add_option("--md", o->md_out, "write the passport as Markdown to this file ('-' = stdout)");
    sub->add_option("--cyclonedx", o->cdx_out, "write a CycloneDX 1.6 ML-BOM (JSON) to this file ('-' = stdout)");
    sub->callback([o] { passport(*o); });
}

}  // namespace hearth::cli
