#include "server/config.h"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.h"

namespace hearth::server {

namespace {

std::string type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::table: return "a table";
        default: return "a date/time";
    }
}

// Reads one TOML table, remembering which keys were asked for so that any other key is
// an error (a misspelt option must not be silently ignored).
class Section {
public:
    Section(const toml::table& t, std::string name, const std::string& source) : t_(t), name_(std::move(name)), source_(source) {}

    [[noreturn]] void fail(const toml::source_region& at, const std::string& key, const std::string& msg) const {
        throw Error(source_ + ":" + std::to_string(at.begin.line) + ": " + qualified(key) + ": " + msg);
    }
    std::string qualified(const std::string& key) const { return name_.empty() ? key : name_ + "." + key; }

    const toml::node* get(const std::string& key) {
        known_.insert(key);
        return t_.get(key);
    }
    std::optional<std::string> str(const std::string& key) {
        const toml::node* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_string()) fail(n->source(), key, "expected a string, got " + type_name(*n));
        return n->as_string()->get();
    }
    std::optional<int64_t> integer(const std::string& key, int64_t lo, int64_t hi) {
        const toml::node* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_integer()) fail(n->source(), key, "expected an integer, got " + type_name(*n));
        const int64_t v = n->as_integer()->get();
        if (v < lo || v > hi)
            fail(n->source(), key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                                       std::to_string(v));
        return v;
    }
    std::optional<double> number(const std::string& key, double lo, double hi) {
        const toml::node* n = get(key);
        if (!n) return std::nullopt;
        double v = 0;
        if (n->is_floating_point()) v = n->as_floating_point()->get();
        else if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
        else fail(n->source(), key, "expected a number, got " + type_name(*n));
        if (!(v >= lo && v <= hi))
            fail(n->source(), key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        return v;
    }
    std::optional<bool> boolean(const std::string& key) {
        const toml::node* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_boolean()) fail(n->source(), key, "expected true or false, got " + type_name(*n));
        return n->as_boolean()->get();
    }
    std::optional<std::vector<std::string>> strings(const std::string& key) {
        const toml::node* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_array()) fail(n->source(), key, "expected an array of strings, got " + type_name(*n));
        std::vector<std::string> out;
        for (const toml::node& e : *n->as_array()) {
            if (!e.is_string()) fail(e.source(), key, "expected an array of strings, found " + type_name(e));
            out.push_back(e.as_string()->get());
        }
        return out;
    }
    const toml::table* table(const std::string& key) {
        const toml::node* n = get(key);
        if (!n) return nullptr;
        if (!n->is_table()) fail(n->source(), key, "expected a table, got " + type_name(*n));
        return n->as_table();
    }
    // Every key not asked for is an error.
    void done() const {
        for (auto&& [k, v] : t_) {
            const std::string key(k.str());
            if (!known_.count(key)) {
                std::string list;
                for (const auto& s : known_) list += (list.empty() ? "" : ", ") + s;
                const auto& at = k.source().begin.line ? k.source() : v.source();
                fail(at, key, "unknown key" + (list.empty() ? std::string() : " (known here: " + list + ")"));
            }
        }
    }
    const toml::table& raw() const { return t_; }

private:
    const toml::table& t_;
    std::string name_;
    const std::string& source_;
    std::set<std::string> known_;
};

std::string resolve(const std::string& p, const std::string& base) {
    if (p.empty() || base.empty() || std::filesystem::path(p).is_absolute()) return p;
    return (std::filesystem::path(base) / p).lexically_normal().string();
}

// A [[name]] array of tables: each element must be a table.
template <typename F>
void each_table(Section& top, const std::string& key, const std::string& source, F f) {
    const toml::node* n = top.get(key);
    if (!n) return;
    if (!n->is_array_of_tables()) top.fail(n->source(), key, "expected [[" + key + "]] tables");
    size_t i = 0;
    for (const toml::node& e : *n->as_array()) {
        Section s(*e.as_table(), key + "[" + std::to_string(i++) + "]", source);
        f(s, e.source());
        s.done();
    }
}

SamplingDefaults read_sampling(Section& s) {
    SamplingDefaults d;
    d.temperature = s.number("temperature", 0.0, 2.0);
    d.top_p = s.number("top_p", 1e-9, 1.0);
    d.top_k = s.integer("top_k", 0, 1 << 30);
    d.min_p = s.number("min_p", 0.0, 1.0);
    d.repeat_penalty = s.number("repeat_penalty", 0.0, 10.0);
    d.presence_penalty = s.number("presence_penalty", -2.0, 2.0);
    d.frequency_penalty = s.number("frequency_penalty", -2.0, 2.0);
    d.max_tokens = s.integer("max_tokens", 1, int64_t{1} << 30);
    return d;
}

bool is_hex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace

std::pair<std::string, int> parse_listen(const std::string& s) {
    std::string host;
    std::string port;
    if (!s.empty() && s[0] == '[') {
        const size_t close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            throw Error("listen address '" + s + "': expected [IPV6]:PORT");
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        const size_t colon = s.rfind(':');
        if (colon == std::string::npos || colon == 0) throw Error("listen address '" + s + "': expected HOST:PORT");
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
        throw Error("listen address '" + s + "': the port must be a number 0-65535");
    const int p = std::stoi(port);
    if (p > 65535) throw Error("listen address '" + s + "': the port must be a number 0-65535");
    return {host, p};
}

ServeConfig parse_serve_config(std::string_view text, const std::string& source, const std::string& base_dir) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        throw Error(source + ":" + std::to_string(e.source().begin.line) + ": TOML syntax: " + std::string(e.description()));
    }
    ServeConfig c;
    Section top(root, "", source);

    if (const toml::table* t = top.table("server")) {
        Section s(*t, "server", source);
        if (auto v = s.str("listen")) {
            try {
                std::tie(c.host, c.port) = parse_listen(*v);
            } catch (const Error& e) {
                s.fail(s.get("listen")->source(), "listen", e.what());
            }
        }
        if (auto v = s.boolean("offline")) c.offline = *v;
        if (auto v = s.boolean("web_ui")) c.web_ui = *v;
        if (auto v = s.integer("max_body_bytes", 64, int64_t{1} << 32)) c.max_body_bytes = static_cast<size_t>(*v);
        if (auto v = s.integer("http_threads", 0, 4096)) c.http_threads = static_cast<int>(*v);
        s.done();
    }
    if (const toml::table* t = top.table("audit")) {
        Section s(*t, "audit", source);
        AuditConfig a;
        auto path = s.str("path");
        if (!path || path->empty()) s.fail(t->source(), "path", "required: the audit log file");
        a.path = resolve(*path, base_dir);
        try {
            if (auto v = s.str("content")) a.content = parse_audit_content(*v);
            if (auto v = s.str("fsync")) a.fsync = parse_audit_fsync(*v);
        } catch (const Error& e) {
            s.fail(t->source(), "content/fsync", e.what());
        }
        if (auto v = s.integer("fsync_interval_ms", 1, 3600 * 1000)) a.fsync_interval_ms = static_cast<int>(*v);
        if (auto v = s.str("hmac_key_file")) a.hmac_key_file = resolve(*v, base_dir);
        s.done();
        c.audit = a;
    }
    each_table(top, "models", source, [&](Section& s, const toml::source_region& at) {
        ModelConfig m;
        auto path = s.str("path");
        if (!path || path->empty()) s.fail(at, "path", "required: the GGUF file");
        m.path = resolve(*path, base_dir);
        m.alias = s.str("alias").value_or(std::filesystem::path(*path).stem().string());
        if (m.alias.empty()) s.fail(at, "alias", "must not be empty");
        if (auto v = s.integer("ctx", 1, int64_t{1} << 24)) m.ctx = *v;
        if (auto v = s.integer("threads", 0, 1024)) m.threads = static_cast<int>(*v);
        if (auto v = s.integer("batch", 1, 8192)) m.batch = *v;
        if (auto v = s.integer("ubatch", 0, 8192)) m.ubatch = *v;
        if (auto v = s.str("kv_type")) {
            if (*v != "f16" && *v != "f32") s.fail(s.get("kv_type")->source(), "kv_type", "must be f16 or f32");
            m.kv_type = *v;
        }
        if (auto v = s.integer("max_queue", 1, 1 << 20)) m.max_queue = static_cast<size_t>(*v);
        if (auto v = s.integer("max_sequences", 1, 1024)) m.max_sequences = static_cast<int>(*v);
        if (auto v = s.str("pooling")) {
            if (*v != "mean" && *v != "last") s.fail(s.get("pooling")->source(), "pooling", "must be \"mean\" or \"last\"");
            m.pooling = *v;
        }
        if (const toml::table* st = s.table("sampling")) {
            Section ss(*st, s.qualified("sampling"), source);
            m.sampling = read_sampling(ss);
            ss.done();
        }
        c.models.push_back(std::move(m));
    });
    if (const toml::table* t = top.table("routes")) {
        Section s(*t, "routes", source);
        for (auto&& [k, v] : *t) {
            const std::string key(k.str());
            if (auto target = s.str(key)) c.routes[key] = *target;
        }
        s.done();
    }
    each_table(top, "keys", source, [&](Section& s, const toml::source_region& at) {
        KeyConfig k;
        auto id = s.str("id");
        if (!id || id->empty()) s.fail(at, "id", "required: a name for the key (it appears in the audit log)");
        k.id = *id;
        auto hash = s.str("sha256");
        if (!hash || !is_hex64(*hash))
            s.fail(hash ? s.get("sha256")->source() : at, "sha256",
                   "required: the key's SHA-256 as 64 lower-case hex digits (`hearth serve --hash-key`)");
        k.sha256 = *hash;
        if (auto v = s.strings("models")) k.models = *v;
        if (auto v = s.integer("max_request_bytes", 1, int64_t{1} << 32)) k.max_request_bytes = static_cast<size_t>(*v);
        if (auto v = s.number("tokens_per_minute", 0.0, 1e12)) k.tokens_per_minute = *v;
        c.keys.push_back(std::move(k));
    });
    each_table(top, "upstreams", source, [&](Section& s, const toml::source_region& at) {
        UpstreamConfig u;
        auto name = s.str("name");
        if (!name || name->empty()) s.fail(at, "name", "required");
        u.name = *name;
        auto url = s.str("base_url");
        if (!url || (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0))
            s.fail(url ? s.get("base_url")->source() : at, "base_url", "required: an http:// or https:// URL");
        u.base_url = *url;
        auto models = s.strings("models");
        if (!models || models->empty()) s.fail(at, "models", "required: the model names this upstream serves");
        u.models = *models;
        if (auto v = s.str("api_key_file")) u.api_key_file = resolve(*v, base_dir);
        c.upstreams.push_back(std::move(u));
    });
    if (const toml::table* t = top.table("shadow")) {
        Section s(*t, "shadow", source);
        ShadowConfig sh;
        sh.line = t->source().begin.line;
        auto need = [&](const char* key, const char* what) {
            auto v = s.str(key);
            if (!v || v->empty()) s.fail(v ? s.get(key)->source() : t->source(), key, std::string("required: ") + what);
            return *v;
        };
        sh.primary = need("primary", "the model alias, upstream model or route whose requests are mirrored");
        sh.primary_line = s.get("primary")->source().begin.line;
        sh.candidate = need("candidate", "the model alias or upstream model that answers the mirrored requests");
        sh.candidate_line = s.get("candidate")->source().begin.line;
        const auto sample = s.number("sample", 0.0, 1.0);
        if (!sample) s.fail(t->source(), "sample", "required: the share of requests mirrored, 0 to 1 (e.g. 0.05)");
        sh.sample = *sample;
        if (auto v = s.integer("seed", 0, std::numeric_limits<int64_t>::max())) sh.seed = static_cast<uint64_t>(*v);
        sh.path = resolve(need("path", "the pairs file to append to (JSON lines)"), base_dir);
        if (auto v = s.str("content")) {
            try {
                sh.content = parse_audit_content(*v);
            } catch (const Error& e) {
                s.fail(s.get("content")->source(), "content", e.what());
            }
        }
        if (auto v = s.integer("max_pending", 1, 4096)) sh.max_pending = static_cast<size_t>(*v);
        if (auto v = s.number("timeout_s", 1.0, 86400.0)) sh.timeout_s = *v;
        s.done();
        c.shadow = sh;
    }
    top.done();
    return c;
}

ServeConfig load_serve_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("config " + path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto base = std::filesystem::absolute(path).parent_path().string();
    return parse_serve_config(ss.str(), path, base);
}

void validate_serve_config(const ServeConfig& c, const std::string& source) {
    auto fail = [&](const std::string& msg) { throw Error(source + ": " + msg); };
    std::set<std::string> local, remote;
    for (const auto& m : c.models)
        if (!local.insert(m.alias).second) fail("two [[models]] share the alias '" + m.alias + "'");
    std::set<std::string> up_names;
    for (const auto& u : c.upstreams) {
        if (!up_names.insert(u.name).second) fail("two [[upstreams]] share the name '" + u.name + "'");
        for (const auto& m : u.models) {
            if (local.count(m)) fail("upstream '" + u.name + "' model '" + m + "' is also a local model alias");
            if (!remote.insert(m).second) fail("model '" + m + "' is listed by two upstreams");
        }
    }
    for (const auto& [task, target] : c.routes) {
        if (local.count(task) || remote.count(task)) fail("[routes] " + task + ": the name is already a model");
        if (!local.count(target) && !remote.count(target))
            fail("[routes] " + task + " = \"" + target + "\": no [[models]] alias or upstream model has that name");
    }
    std::set<std::string> ids;
    for (const auto& k : c.keys) {
        if (!ids.insert(k.id).second) fail("two [[keys]] share the id '" + k.id + "'");
        for (const auto& m : k.models)
            if (!local.count(m) && !remote.count(m) && !c.routes.count(m))
                fail("[[keys]] '" + k.id + "' allows model '" + m + "', which is neither served nor a route");
    }
    if (c.shadow) {
        const ShadowConfig& sh = *c.shadow;
        auto at = [&](int64_t line, const std::string& key, const std::string& msg) {
            throw Error(source + (line > 0 ? ":" + std::to_string(line) : "") + ": shadow." + key + ": " + msg);
        };
        const auto route = c.routes.find(sh.primary);
        const std::string primary_target = route != c.routes.end() ? route->second : sh.primary;
        if (!local.count(primary_target) && !remote.count(primary_target))
            at(sh.primary_line, "primary", "\"" + sh.primary + "\" is not a [[models]] alias, upstream model or route");
        if (c.routes.count(sh.candidate))
            at(sh.candidate_line, "candidate",
               "\"" + sh.candidate + "\" is a route; name the model itself (a [[models]] alias or upstream model)");
        if (!local.count(sh.candidate) && !remote.count(sh.candidate))
            at(sh.candidate_line, "candidate",
               "\"" + sh.candidate + "\" is not a [[models]] alias or a model of a configured [[upstreams]] entry");
        if (c.audit && c.audit->path == sh.path)
            at(sh.line, "path", "is the audit log's file; the pairs need a file of their own");
        if (sh.candidate == primary_target)
            at(sh.candidate_line, "candidate",
               "\"" + sh.candidate + "\" is the model that already answers \"" + sh.primary +
                   "\"; a shadow compares two different models");
    }
}

}  // namespace hearth::server
