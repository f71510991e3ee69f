// `hearth serve --config`: TOML parsing, errors naming the line and key, cross-checks; and
// the per-key policy (allowed models, token-bucket rate limit).
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "server/auth.h"
#include "server/config.h"

using namespace hearth::server;

namespace {

const char* kFull = R"(
[server]
listen = "0.0.0.0:9090"
offline = true
max_body_bytes = 100000

[audit]
path = "logs/audit.jsonl"
content = "hashes"
fsync = "interval"
fsync_interval_ms = 250
hmac_key_file = "/etc/hearth/audit.key"

[[models]]
path = "models/coder.gguf"
alias = "coder"
ctx = 2048
threads = 2
max_sequences = 3
[models.sampling]
temperature = 0.2
top_k = 40
max_tokens = 128

[[models]]
path = "/abs/other.gguf"

[routes]
coding = "coder"
remote-chat = "gpt-x"

[[keys]]
id = "alice"
sha256 = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
models = ["coding"]
max_request_bytes = 5000
tokens_per_minute = 600

[[upstreams]]
name = "lab"
base_url = "http://10.0.0.5:8000/v1"
models = ["gpt-x"]
)";

// The message of the hearth::Error `text` raises (or "" if none).
std::string error_of(const std::string& text) {
    try {
        validate_serve_config(parse_serve_config(text, "test.toml", "/base"), "test.toml");
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ServerConfig, ParsesEverySection) {
    ServeConfig c = parse_serve_config(kFull, "test.toml", "/base");
    EXPECT_NO_THROW(validate_serve_config(c, "test.toml"));
    EXPECT_EQ(c.host, "0.0.0.0");
    EXPECT_EQ(c.port, 9090);
    EXPECT_TRUE(c.offline);
    EXPECT_EQ(c.max_body_bytes, 100000u);
    ASSERT_TRUE(c.audit.has_value());
    EXPECT_EQ(c.audit->path, "/base/logs/audit.jsonl");
    EXPECT_EQ(c.audit->content, AuditContent::Hashes);
    EXPECT_EQ(c.audit->fsync, AuditFsync::Interval);
    EXPECT_EQ(c.audit->fsync_interval_ms, 250);
    EXPECT_EQ(c.audit->hmac_key_file, "/etc/hearth/audit.key");
    ASSERT_EQ(c.models.size(), 2u);
    EXPECT_EQ(c.models[0].path, "/base/models/coder.gguf");
    EXPECT_EQ(c.models[0].alias, "coder");
    EXPECT_EQ(c.models[0].ctx, 2048);
    EXPECT_EQ(c.models[0].threads, 2);
    EXPECT_EQ(c.models[0].max_sequences, 3);
    EXPECT_DOUBLE_EQ(c.models[0].sampling.temperature.value_or(-1), 0.2);
    EXPECT_EQ(c.models[0].sampling.top_k.value_or(-1), 40);
    EXPECT_EQ(c.models[0].sampling.max_tokens.value_or(-1), 128);
    EXPECT_FALSE(c.models[0].sampling.top_p.has_value());
    EXPECT_EQ(c.models[1].alias, "other");  // the file stem
    EXPECT_EQ(c.models[1].ctx, 4096);
    EXPECT_EQ(c.routes.at("coding"), "coder");
    ASSERT_EQ(c.keys.size(), 1u);
    EXPECT_EQ(c.keys[0].id, "alice");
    EXPECT_EQ(c.keys[0].models, std::vector<std::string>{"coding"});
    EXPECT_EQ(c.keys[0].max_request_bytes, 5000u);
    EXPECT_DOUBLE_EQ(c.keys[0].tokens_per_minute, 600);
    ASSERT_EQ(c.upstreams.size(), 1u);
    EXPECT_EQ(c.upstreams[0].base_url, "http://10.0.0.5:8000/v1");
}

TEST(ServerConfig, UnknownKeysNameTheKeyAndLine) {
    std::string e = error_of("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
    EXPECT_NE(e.find("test.toml:3"), std::string::npos) << e;
    EXPECT_NE(e.find("server.lisen"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
    e = error_of("[[models]]\npath = \"a.gguf\"\n\n[models.sampling]\ntemprature = 1\n");
    EXPECT_NE(e.find("test.toml:5"), std::string::npos) << e;
    EXPECT_NE(e.find("models[0].sampling.temprature"), std::string::npos) << e;
    e = error_of("[[models]]\npath = \"a.gguf\"\n[serverr]\nx = 1\n");
    EXPECT_NE(e.find("serverr"), std::string::npos) << e;
}

TEST(ServerConfig, BadValuesAreNamed) {
    struct Case {
        const char* text;
        const char* want;
    } cases[] = {
        {"[server]\nlisten = 8080\n", "server.listen: expected a string"},
        {"[server]\nlisten = \"localhost\"\n", "HOST:PORT"},
        {"[server]\nlisten = \"h:99999\"\n", "0-65535"},
        {"[server]\noffline = \"yes\"\n", "server.offline: expected true or false"},
        {"[[models]]\nalias = \"x\"\n", "models[0].path: required"},
        {"[[models]]\npath = \"a.gguf\"\nctx = 0\n", "models[0].ctx: must be between"},
        {"[[models]]\npath = \"a.gguf\"\nkv_type = \"q4\"\n", "kv_type"},
        {"[[models]]\npath = \"a.gguf\"\n[[models]]\npath = \"b/a.gguf\"\n", "share the alias 'a'"},
        {"[[models]]\npath = \"a.gguf\"\n[routes]\ncoding = \"nope\"\n", "[routes] coding"},
        {"[[models]]\npath = \"a.gguf\"\n[routes]\na = \"a\"\n", "already a model"},
        {"[[models]]\npath = \"a.gguf\"\n[[keys]]\nid = \"k\"\nsha256 = \"abc\"\n", "keys[0].sha256"},
        {"[[models]]\npath = \"a.gguf\"\n[[keys]]\nsha256 = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
         "keys[0].id: required"},
        {"[[models]]\npath = \"a.gguf\"\n[[keys]]\nid = \"k\"\nsha256 = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\nmodels = [\"zzz\"]\n",
         "allows model 'zzz'"},
        {"[[models]]\npath = \"a.gguf\"\n[[upstreams]]\nname = \"u\"\nbase_url = \"ftp://x\"\nmodels = [\"m\"]\n",
         "upstreams[0].base_url"},
        {"[[models]]\npath = \"a.gguf\"\n[[upstreams]]\nname = \"u\"\nbase_url = \"http://x\"\nmodels = [\"a\"]\n",
         "also a local model"},
        {"[audit]\nfsync = \"every\"\n", "audit.path: required"},
        {"[audit]\npath = \"x\"\nfsync = \"sometimes\"\n", "fsync policy"},
        {"models = 3\n", "expected [[models]]"},
        {"[server\nlisten=1\n", "test.toml:1: TOML syntax"},
    };
    for (const auto& c : cases) {
        const std::string e = error_of(c.text);
        EXPECT_NE(e.find(c.want), std::string::npos) << "config:\n" << c.text << "\nerror: " << e;
    }
}

TEST(ServerConfig, ListenAddresses) {
    EXPECT_EQ(parse_listen("127.0.0.1:8080"), (std::pair<std::string, int>{"127.0.0.1", 8080}));
    EXPECT_EQ(parse_listen("[::1]:0"), (std::pair<std::string, int>{"::1", 0}));
    EXPECT_THROW(parse_listen(":80"), hearth::Error);
    EXPECT_THROW(parse_listen("a:b"), hearth::Error);
    EXPECT_THROW(parse_listen("[::1]80"), hearth::Error);
}

TEST(ServerKeys, PoliciesAndDigests) {
    ApiKeys keys;
    KeyPolicy p;
    p.id = "alice";
    p.digest = ApiKeys::from_hex(ApiKeys::hex(ApiKeys::sha256("sk-alice")));
    p.models = {"coding"};
    keys.add(p);
    keys.add("sk-cli");
    // SHA-256("abc"), the FIPS 180-2 example.
    EXPECT_EQ(ApiKeys::hex(ApiKeys::sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const KeyPolicy* a = keys.find("sk-alice");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->id, "alice");
    EXPECT_TRUE(a->allows("coding", "coder"));
    EXPECT_TRUE(a->allows("coder", "coding"));
    EXPECT_FALSE(a->allows("other", "other"));
    const KeyPolicy* c = keys.find("sk-cli");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->id, "key-2");
    EXPECT_TRUE(c->allows("anything", "anything"));
    EXPECT_EQ(keys.find("sk-nobody"), nullptr);
    EXPECT_THROW(keys.add(p), hearth::Error);  // duplicate id
    EXPECT_THROW(ApiKeys::from_hex("xyz"), hearth::Error);
}

TEST(ServerKeys, TokenBucket) {
    RateLimiter rl;
    using C = RateLimiter::Clock;
    const C::time_point t0 = C::now();
    // 60 tokens per minute = 1 per second, starting full.
    EXPECT_EQ(rl.admit("k", 60, 50, t0), 0);
    EXPECT_NEAR(rl.level("k", 60, t0), 10, 1e-9);
    rl.charge("k", 60, 30, t0);  // the answer: the bucket is 20 in debt
    EXPECT_NEAR(rl.level("k", 60, t0), -20, 1e-9);
    // Needs 5 for the next prompt: 25 s away.
    EXPECT_EQ(rl.admit("k", 60, 5, t0), 25);
    EXPECT_EQ(rl.admit("k", 60, 5, t0 + std::chrono::seconds(24)), 1);
    EXPECT_EQ(rl.admit("k", 60, 5, t0 + std::chrono::seconds(25)), 0);
    // A prompt larger than the capacity is admitted once the bucket is full.
    EXPECT_GT(rl.admit("k", 60, 500, t0 + std::chrono::seconds(30)), 0);
    EXPECT_EQ(rl.admit("k", 60, 500, t0 + std::chrono::seconds(200)), 0);
    // Other keys have their own bucket; 0 means unlimited.
    EXPECT_EQ(rl.admit("j", 60, 60, t0), 0);
    EXPECT_EQ(rl.admit("u", 0, 1000000, t0), 0);
}
