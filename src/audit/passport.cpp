#include "audit/passport.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "audit/hash.h"
#include "audit/hash_directory.h"
#include "audit/known_templates.h"
#include "core/error.h"
#include "core/units.h"
#include "format/gguf.h"
#include "model/architecture.h"
#include "model/model.h"

namespace hearth::audit {
namespace {

using json = nlohmann::ordered_json;

const char* file_type_name(int64_t ft) {
    switch (ft) {
        case 0: return "ALL_F32";
        case 1: return "MOSTLY_F16";
        case 2: return "MOSTLY_Q4_0";
        case 3: return "MOSTLY_Q4_1";
        case 7: return "MOSTLY_Q8_0";
        case 8: return "MOSTLY_Q5_0";
        case 9: return "MOSTLY_Q5_1";
        case 10: return "MOSTLY_Q2_K";
        case 11: return "MOSTLY_Q3_K_S";
        case 12: return "MOSTLY_Q3_K_M";
        case 13: return "MOSTLY_Q3_K_L";
        case 14: return "MOSTLY_Q4_K_S";
        case 15: return "MOSTLY_Q4_K_M";
        case 16: return "MOSTLY_Q5_K_S";
        case 17: return "MOSTLY_Q5_K_M";
        case 18: return "MOSTLY_Q6_K";
        case 19: return "MOSTLY_IQ2_XXS";
        case 20: return "MOSTLY_IQ2_XS";
        case 21: return "MOSTLY_Q2_K_S";
        case 22: return "MOSTLY_IQ3_XS";
        case 23: return "MOSTLY_IQ3_XXS";
        case 24: return "MOSTLY_IQ1_S";
        case 25: return "MOSTLY_IQ4_NL";
        case 26: return "MOSTLY_IQ3_S";
        case 27: return "MOSTLY_IQ3_M";
        case 28: return "MOSTLY_IQ2_S";
        case 29: return "MOSTLY_IQ2_M";
        case 30: return "MOSTLY_IQ4_XS";
        case 31: return "MOSTLY_IQ1_M";
        case 32: return "MOSTLY_BF16";
        case 36: return "MOSTLY_TQ1_0";
        case 37: return "MOSTLY_TQ2_0";
        default: return nullptr;
    }
}

// Any scalar metadata value as text (strings as-is); arrays by their display form.
std::string value_text(const format::GGUFValue& v) {
    if (v.is_string()) return v.as_string();
    if (v.type == format::GGUFType::BOOL) return v.as_bool() ? "true" : "false";
    if (v.is_int()) {
        if (const auto* u = std::get_if<uint64_t>(&v.v)) return std::to_string(*u);
        return std::to_string(v.as_int());
    }
    if (v.is_float()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", v.as_float());
        return buf;
    }
    return v.to_display(16);
}

void put_u64(std::string& s, uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Items general.<group>.N.<field> for N < general.<group>.count (or as found when the count
// is missing).
std::vector<Passport::Ancestor> indexed_group(const format::GGUFFile& f, const std::string& group) {
    const std::string prefix = "general." + group + ".";
    std::map<int64_t, Passport::Ancestor> by_index;
    for (const auto& [k, v] : f.metadata()) {
        if (k.rfind(prefix, 0) != 0) continue;
        std::string rest = k.substr(prefix.size());
        size_t dot = rest.find('.');
        if (dot == std::string::npos || dot == 0) continue;
        std::string idx = rest.substr(0, dot);
        if (!std::all_of(idx.begin(), idx.end(), [](unsigned char c) { return std::isdigit(c); }) || idx.size() > 6)
            continue;
        by_index[std::stoll(idx)].fields[rest.substr(dot + 1)] = value_text(v);
    }
    int64_t count = -1;
    if (const auto* c = f.find(prefix + "count"); c && c->is_int()) count = c->as_int();
    std::vector<Passport::Ancestor> out;
    const int64_t n = count >= 0 ? count : (by_index.empty() ? 0 : by_index.rbegin()->first + 1);
    for (int64_t i = 0; i < n && i < 100000; ++i) {
        auto it = by_index.find(i);
        out.push_back(it != by_index.end() ? it->second : Passport::Ancestor{});
    }
    return out;
}

std::string md_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '|') o += "\\|";
        else if (c == '\n') o += ' ';
        else o += c;
    }
    return o;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// SPDX ids hearth maps a declared licence to; anything else is exported as a licence name.
std::string spdx_id(const std::string& declared) {
    static const char* ids[] = {"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "CC-BY-4.0", "CC-BY-SA-4.0",
                                "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0", "CC0-1.0", "GPL-2.0-only",
                                "GPL-3.0-only", "LGPL-3.0-only", "AGPL-3.0-only", "MPL-2.0", "Unlicense",
                                "OpenRAIL", "CreativeML-OpenRAIL-M"};
    const std::string l = lower(declared);
    for (const char* id : ids)
        if (lower(id) == l) return id;
    if (l == "gpl-3.0") return "GPL-3.0-only";
    if (l == "gpl-2.0") return "GPL-2.0-only";
    if (l == "agpl-3.0") return "AGPL-3.0-only";
    if (l == "lgpl-3.0") return "LGPL-3.0-only";
    return "";
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

std::string tokenizer_fingerprint(const format::GGUFFile& f) {
    std::string buf = "hearth-tokenizer-v1\n";
    Sha256 h;
    auto strings = [&](const char* name, const char* key) {
        buf += name;
        buf += '\n';
        const auto* v = f.find(key);
        const format::GGUFArray* a = v && v->is_array() ? &v->as_array() : nullptr;
        put_u64(buf, a ? a->size() : 0);
        if (a) {
            for (const auto& item : *a) {
                const std::string& s = item.as_string(key);
                put_u64(buf, s.size());
                buf += s;
                if (buf.size() > (1u << 20)) {
                    h.update(buf);
                    buf.clear();
                }
            }
        }
    };
    strings("tokens", "tokenizer.ggml.tokens");
    strings("merges", "tokenizer.ggml.merges");
    buf += "token_type\n";
    const auto* tt = f.find("tokenizer.ggml.token_type");
    const format::GGUFArray* a = tt && tt->is_array() ? &tt->as_array() : nullptr;
    put_u64(buf, a ? a->size() : 0);
    if (a) {
        for (const auto& item : *a) {
            const uint32_t v = static_cast<uint32_t>(static_cast<int32_t>(item.as_int("tokenizer.ggml.token_type")));
            for (int i = 0; i < 4; ++i) buf.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        }
    }
    h.update(buf);
    return h.hex();
}

Passport make_passport(const std::string& path, bool progress) {
    auto f = format::GGUFFile::open(path);
    // A Hugging Face directory (imported by GGUFFile::open) is hashed file by file.
    const bool dir = std::filesystem::is_directory(path);
    Passport p = make_passport(*f, dir ? sha256_directory(path, progress) : sha256_file(path, progress));
    p.path = path;
    return p;
}

Passport make_passport(const format::GGUFFile& f, const std::string& file_sha256) {
    Passport p;
    p.path = f.path();
    p.file_sha256 = file_sha256;
    p.file_size = f.file_size();
    p.gguf_version = f.version();
    p.source_format = f.source_format();
    p.name = f.get_string("general.name", "");
    p.architecture = f.get_string("general.architecture", "");
    const model::ArchSpec* spec = model::find_arch(p.architecture);
    p.supported = spec != nullptr;
    if (spec) p.family = spec->family;

    std::map<std::string, QuantShare> mix;
    for (const auto& t : f.tensors()) {
        const uint64_t n = static_cast<uint64_t>(t.n_elements());
        p.n_params += n;
        auto& q = mix[std::string(dtype_name(t.dtype))];
        q.dtype = std::string(dtype_name(t.dtype));
        q.tensors++;
        q.params += n;
        q.bytes += t.nbytes;
    }
    for (auto& [k, q] : mix) p.quant_mix.push_back(q);
    std::sort(p.quant_mix.begin(), p.quant_mix.end(),
              [](const QuantShare& a, const QuantShare& b) { return a.bytes != b.bytes ? a.bytes > b.bytes : a.dtype < b.dtype; });
    if (const auto* ft = f.find("general.file_type"); ft && ft->is_int()) {
        const char* n = file_type_name(ft->as_int());
        p.file_type = n ? n : "file_type " + std::to_string(ft->as_int());
    }

    p.context_length = f.get_int(p.architecture + ".context_length", 0);
    p.n_active_params = p.n_params;
    if (spec) {
        try {
            model::HParams hp = model::read_hparams(f, *spec);
            p.context_length = hp.n_ctx_train;
            p.moe = hp.moe();
            p.n_active_params = model::count_active_params(f, hp);
        } catch (const Error& e) {
            p.warnings.push_back(std::string("hyper-parameters do not load: ") + e.what());
        }
    } else {
        p.warnings.push_back("architecture '" + p.architecture + "' is not supported by this hearth");
    }

    // tokenizer
    p.tokenizer_model = f.get_string("tokenizer.ggml.model", "");
    p.tokenizer_pre = f.get_string("tokenizer.ggml.pre", "");
    if (const auto* v = f.find("tokenizer.ggml.tokens"); v && v->is_array()) p.vocab_size = v->as_array().size();
    if (const auto* v = f.find("tokenizer.ggml.merges"); v && v->is_array()) p.n_merges = v->as_array().size();
    if (p.vocab_size > 0) p.tokenizer_fingerprint = tokenizer_fingerprint(f);
    else p.warnings.push_back("no tokenizer vocabulary (tokenizer.ggml.tokens)");

    // chat template
    if (const auto* v = f.find("tokenizer.chat_template"); v && v->is_string()) {
        p.has_chat_template = true;
        const std::string& src = v->as_string();
        p.chat_template_sha256 = sha256_hex(src);
        const std::string guess = guess_template_family(src);
        if (const KnownTemplate* k = find_known_template(p.chat_template_sha256)) {
            p.chat_template_family = std::string(k->family);
            p.chat_template_match = std::string(k->model);
        } else {
            p.chat_template_family = guess;
            bool family_known = false;
            for (const auto& k : known_templates()) family_known |= !guess.empty() && k.family == guess;
            if (family_known)
                p.warnings.push_back("chat template differs from every known " + guess +
                                     " template (edited or re-exported template; check what it renders)");
            else
                p.warnings.push_back("chat template is not one hearth knows" +
                                     (guess.empty() ? std::string() : " (markers suggest " + guess + ")"));
        }
    } else {
        p.warnings.push_back("no chat template (tokenizer.chat_template): chat prompts will use a fallback format");
    }
    for (const auto& [k, v] : f.metadata())
        if (k.rfind("tokenizer.chat_template.", 0) == 0) p.named_templates.push_back(k.substr(24));

    // provenance
    for (const auto& [k, v] : f.metadata()) {
        if (k == "general.license" || k.rfind("general.license.", 0) == 0) p.license[k.substr(8)] = value_text(v);
        static const char* lineage_keys[] = {"general.basename", "general.finetune", "general.organization",
                                             "general.author", "general.version", "general.size_label",
                                             "general.url", "general.repo_url", "general.doi", "general.uuid",
                                             "general.quantized_by", "general.description"};
        for (const char* lk : lineage_keys)
            if (k == lk) p.lineage[k.substr(8)] = value_text(v);
        if (k.rfind("general.source.", 0) == 0) p.lineage[k.substr(8)] = value_text(v);
    }
    p.base_models = indexed_group(f, "base_model");
    p.datasets = indexed_group(f, "dataset");

    if (p.license.empty())
        p.warnings.push_back("no licence metadata (general.license): the terms of use are not stated in the file");
    bool has_source = false;
    for (const auto& [k, v] : p.lineage) has_source |= k.rfind("source.", 0) == 0;
    if (p.base_models.empty() && !has_source)
        p.warnings.push_back("unknown lineage: no general.base_model.* or general.source.* metadata");
    if (p.datasets.empty()) p.warnings.push_back("no declared training datasets (general.dataset.*)");
    return p;
}

json passport_json(const Passport& p) {
    json j;
    j["passport_version"] = 1;
    j["file"] = {{"path", p.path}, {"sha256", p.file_sha256}, {"size", p.file_size}, {"format", p.source_format}};
    if (p.gguf_version != 0) j["file"]["gguf_version"] = p.gguf_version;
    j["name"] = p.name;
    j["architecture"] = p.architecture;
    j["family"] = p.family;
    j["supported"] = p.supported;
    j["parameters"] = {{"total", p.n_params}, {"active", p.n_active_params}, {"moe", p.moe}};
    json mix = json::array();
    for (const auto& q : p.quant_mix)
        mix.push_back({{"dtype", q.dtype}, {"tensors", q.tensors}, {"params", q.params}, {"bytes", q.bytes}});
    j["quantization"] = {{"file_type", p.file_type}, {"mix", mix}};
    j["context_length"] = p.context_length;
    j["tokenizer"] = {{"model", p.tokenizer_model},
                      {"pre", p.tokenizer_pre},
                      {"vocab_size", p.vocab_size},
                      {"merges", p.n_merges},
                      {"fingerprint", p.tokenizer_fingerprint},
                      {"fingerprint_scheme", "hearth-tokenizer-v1"}};
    j["chat_template"] = {{"present", p.has_chat_template},
                          {"sha256", p.chat_template_sha256},
                          {"family", p.chat_template_family},
                          {"identical_to", p.chat_template_match},
                          {"named_variants", p.named_templates}};
    j["license"] = p.license;
    j["lineage"] = p.lineage;
    json bases = json::array();
    for (const auto& b : p.base_models) bases.push_back(b.fields);
    j["base_models"] = bases;
    json ds = json::array();
    for (const auto& d : p.datasets) ds.push_back(d.fields);
    j["datasets"] = ds;
    j["warnings"] = p.warnings;
    return j;
}

std::string passport_markdown(const Passport& p) {
    std::string o;
    auto row = [&](const std::string& k, const std::string& v) { o += "| " + k + " | " + md_escape(v) + " |\n"; };
    o += "# Model passport: " + md_escape(p.name.empty() ? p.path : p.name) + "\n\n";
    o += "| | |\n|---|---|\n";
    row("file", p.path);
    row("SHA-256", "`" + p.file_sha256 + "`");
    row("size", std::to_string(p.file_size) + " bytes (" + p.source_format + ")");
    row("architecture", p.architecture + (p.family.empty() ? " (not supported by this hearth)" : " (" + p.family + ")"));
    std::string params = human_count(static_cast<double>(p.n_params)) + " (" + std::to_string(p.n_params) + ")";
    if (p.moe) params += "; active per token " + human_count(static_cast<double>(p.n_active_params));
    row("parameters", params);
    std::string mix;
    for (const auto& q : p.quant_mix) {
        if (!mix.empty()) mix += ", ";
        mix += q.dtype + " x" + std::to_string(q.tensors);
    }
    row("quantization", (p.file_type.empty() ? "" : p.file_type + ": ") + mix);
    row("context length", std::to_string(p.context_length));
    row("tokenizer", p.tokenizer_model + ", pre " + (p.tokenizer_pre.empty() ? "default" : p.tokenizer_pre) + ", " +
                         std::to_string(p.vocab_size) + " tokens, " + std::to_string(p.n_merges) + " merges");
    row("tokenizer fingerprint", "`" + p.tokenizer_fingerprint + "` (hearth-tokenizer-v1)");
    if (p.has_chat_template) {
        row("chat template", "`" + p.chat_template_sha256 + "`, family " +
                                 (p.chat_template_family.empty() ? "unknown" : p.chat_template_family) +
                                 (p.chat_template_match.empty() ? ", matches no known template"
                                                                : ", identical to " + p.chat_template_match));
    } else {
        row("chat template", "none");
    }
    std::string lic;
    for (const auto& [k, v] : p.license) lic += (lic.empty() ? "" : "; ") + k + " = " + v;
    row("licence", lic.empty() ? "not declared" : lic);
    std::string lin;
    for (const auto& [k, v] : p.lineage) lin += (lin.empty() ? "" : "; ") + k + " = " + v;
    row("lineage", lin.empty() ? "not declared" : lin);
    auto list = [](const std::vector<Passport::Ancestor>& xs) {
        std::string s;
        for (const auto& a : xs) {
            std::string one;
            for (const auto& [k, v] : a.fields) one += (one.empty() ? "" : ", ") + k + " " + v;
            s += (s.empty() ? "" : "; ") + (one.empty() ? std::string("(no fields)") : one);
        }
        return s;
    };
    row("base models", p.base_models.empty() ? "not declared" : list(p.base_models));
    row("datasets", p.datasets.empty() ? "not declared" : list(p.datasets));
    o += "\n## Warnings\n\n";
    if (p.warnings.empty()) o += "None.\n";
    for (const auto& w : p.warnings) o += "- " + w + "\n";
    return o;
}

json passport_cyclonedx(const Passport& p, const std::string& timestamp) {
    // A stable serial number per file: the first 16 bytes of the file hash shaped as a UUID v4.
    std::string h = p.file_sha256.size() >= 32 ? p.file_sha256.substr(0, 32) : std::string(32, '0');
    h[12] = '4';
    static const char* variant = "89ab";
    h[16] = variant[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
    const std::string uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
                             "-" + h.substr(20, 12);
    json comp;
    comp["type"] = "machine-learning-model";
    comp["bom-ref"] = "model-" + p.file_sha256.substr(0, 16);
    comp["name"] = p.name.empty() ? p.path.substr(p.path.find_last_of('/') + 1) : p.name;
    if (auto it = p.lineage.find("version"); it != p.lineage.end()) comp["version"] = it->second;
    if (auto it = p.lineage.find("organization"); it != p.lineage.end())
        comp["supplier"] = {{"name", it->second}};
    comp["hashes"] = json::array({{{"alg", "SHA-256"}, {"content", p.file_sha256}}});
    json lic = json::array();
    std::string declared;
    if (auto it = p.license.find("license"); it != p.license.end()) declared = it->second;
    std::string lname = declared;
    if (auto it = p.license.find("license.name"); it != p.license.end()) lname = it->second;
    if (!declared.empty() || !lname.empty()) {
        json l;
        const std::string id = spdx_id(declared);
        if (!id.empty()) l["id"] = id;
        else l["name"] = lname.empty() ? declared : lname;
        if (auto it = p.license.find("license.link"); it != p.license.end() && !it->second.empty()) l["url"] = it->second;
        lic.push_back({{"license", l}});
        comp["licenses"] = lic;
    }
    json props = json::array();
    auto prop = [&](const std::string& k, const std::string& v) {
        if (!v.empty()) props.push_back({{"name", "hearth:" + k}, {"value", v}});
    };
    prop("file.size", std::to_string(p.file_size));
    prop("source.format", p.source_format);
    prop("gguf.version", p.gguf_version ? std::to_string(p.gguf_version) : "");
    prop("architecture", p.architecture);
    prop("parameters.total", std::to_string(p.n_params));
    prop("parameters.active", std::to_string(p.n_active_params));
    prop("quantization.file_type", p.file_type);
    for (const auto& q : p.quant_mix) prop("quantization.mix." + q.dtype, std::to_string(q.tensors) + " tensors");
    prop("context_length", std::to_string(p.context_length));
    prop("tokenizer.fingerprint", p.tokenizer_fingerprint);
    prop("chat_template.sha256", p.chat_template_sha256);
    prop("chat_template.family", p.chat_template_family);
    for (const auto& w : p.warnings) prop("warning", w);
    comp["properties"] = props;

    json mp;
    mp["approach"] = {{"type", "self-supervised"}};
    mp["task"] = "text-generation";
    mp["architectureFamily"] = p.architecture;
    mp["modelArchitecture"] = p.family.empty() ? p.architecture : p.family;
    json ds = json::array();
    for (const auto& d : p.datasets) {
        json c = {{"type", "dataset"}};
        if (auto it = d.fields.find("name"); it != d.fields.end()) c["name"] = it->second;
        else c["name"] = "unnamed dataset";
        std::string desc;
        for (const auto& [k, v] : d.fields)
            if (k != "name") desc += (desc.empty() ? "" : "; ") + k + ": " + v;
        if (!desc.empty()) c["description"] = desc;
        ds.push_back(c);
    }
    if (!ds.empty()) mp["datasets"] = ds;
    mp["inputs"] = json::array({{{"format", "text"}}});
    mp["outputs"] = json::array({{{"format", "text"}}});
    comp["modelCard"] = {{"modelParameters", mp}};

    if (!p.base_models.empty()) {
        json anc = json::array();
        for (const auto& b : p.base_models) {
            json a = {{"type", "machine-learning-model"}};
            auto f = [&](const char* k) {
                auto it = b.fields.find(k);
                return it == b.fields.end() ? std::string() : it->second;
            };
            a["name"] = f("name").empty() ? "unnamed base model" : f("name");
            if (!f("version").empty()) a["version"] = f("version");
            if (!f("organization").empty()) a["supplier"] = {{"name", f("organization")}};
            if (!f("repo_url").empty())
                a["externalReferences"] = json::array({{{"type", "vcs"}, {"url", f("repo_url")}}});
            anc.push_back(a);
        }
        comp["pedigree"] = {{"ancestors", anc}};
    }

    json bom;
    bom["$schema"] = "http://cyclonedx.org/schema/bom-1.6.schema.json";
    bom["bomFormat"] = "CycloneDX";
    bom["specVersion"] = "1.6";
    bom["serialNumber"] = "urn:uuid:" + uuid;
    bom["version"] = 1;
    bom["metadata"] = {
        {"timestamp", timestamp.empty() ? utc_now() : timestamp},
        {"tools", {{"components", json::array({{{"type", "application"}, {"name", "hearth"}, {"version", HEARTH_VERSION}}})}}}};
    bom["components"] = json::array({comp});
    return bom;
}

}  // namespace hearth::audit
