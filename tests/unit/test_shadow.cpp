// Shadow evaluation: the [shadow] config section, the reproducible sampling rule and the McNemar
// test against Python references (tests/fixtures/audit/shadow_reference.json, made by
// tools/gen_shadow_references.py with hashlib, statsmodels and scipy), the pairs record, and
// `audit diff --shadow` on a hand-made pairs file whose counts are known.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "audit/grader.h"
#include "audit/hash.h"
#include "audit/shadow_diff.h"
#include "audit/stats.h"
#include "core/error.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/shadow.h"

using namespace hearth;

// The rest of a valid [shadow] section, glued to the tests' lines as a literal.
#define OK_REST "path = \"p.jsonl\"\n"

namespace {

nlohmann::json reference() {
    std::ifstream in(std::string(HEARTH_FIXTURES) + "/audit/shadow_reference.json");
    return nlohmann::json::parse(in);
}

const char* kModels = R"(
[[models]]
path = "/m/coder.gguf"
alias = "coder"

[[models]]
path = "/m/coder.gguf"
alias = "coder-next"

[routes]
coding = "coder"

[[upstreams]]
name = "lab"
base_url = "http://10.0.0.5:8000/v1"
models = ["big"]
)";

server::ServeConfig parse(const std::string& shadow) {
    return server::parse_serve_config(std::string(kModels) + shadow, "serve.toml");
}

// The message of the error validating (or parsing) the config throws, "" when none.
std::string config_error(const std::string& shadow) {
    try {
        const auto c = parse(shadow);
        server::validate_serve_config(c, "serve.toml");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ShadowConfig, ParsesTheSection) {
    const auto c = parse(R"(
[shadow]
primary = "coding"
candidate = "coder-next"
sample = 0.25
seed = 9
path = "/var/pairs.jsonl"
content = "hashes"
max_pending = 2
timeout_s = 30
)");
    ASSERT_TRUE(c.shadow.has_value());
    EXPECT_EQ(c.shadow->primary, "coding");
    EXPECT_EQ(c.shadow->candidate, "coder-next");
    EXPECT_DOUBLE_EQ(c.shadow->sample, 0.25);
    EXPECT_EQ(c.shadow->seed, 9u);
    EXPECT_EQ(c.shadow->path, "/var/pairs.jsonl");
    ASSERT_TRUE(c.shadow->content.has_value());
    EXPECT_EQ(*c.shadow->content, server::AuditContent::Hashes);
    EXPECT_EQ(c.shadow->max_pending, 2u);
    EXPECT_DOUBLE_EQ(c.shadow->timeout_s, 30);
    EXPECT_NO_THROW(server::validate_serve_config(c, "serve.toml"));
    EXPECT_FALSE(parse("").shadow.has_value());
}

TEST(ShadowConfig, ErrorsNameFileLineAndKey) {
    // Lines count from the start of the text: kModels ends on line 17, [shadow] is line 18.
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"coder-next\"\n" OK_REST)
                  .find("shadow.sample: required"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"coder-next\"\nsample = 1.5\n" OK_REST)
                  .find("serve.toml:21: shadow.sample: must be between"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"coder-next\"\nsample = 1\n" OK_REST
                           "sampel = 3\n")
                  .find("shadow.sampel: unknown key"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"coder-next\"\nsample = 1\n" OK_REST
                           "content = \"some\"\n")
                  .find("shadow.content: audit content policy must be"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"coder-next\"\nsample = 1\n" OK_REST
                           "max_pending = 0\n")
                  .find("shadow.max_pending: must be between 1"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\nsample = 1\n" OK_REST).find("shadow.candidate: required"),
              std::string::npos);
    // Cross-checks, with the key's line.
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"nobody\"\ncandidate = \"coder-next\"\nsample = 1\n" OK_REST)
                  .find("serve.toml:19: shadow.primary: \"nobody\" is not a [[models]] alias"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"missing\"\nsample = 1\n" OK_REST)
                  .find("serve.toml:20: shadow.candidate: \"missing\" is not a [[models]] alias or a model of a "
                        "configured [[upstreams]]"),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coding\"\ncandidate = \"coder\"\nsample = 1\n" OK_REST)
                  .find("shadow.candidate: \"coder\" is the model that already answers \"coding\""),
              std::string::npos);
    EXPECT_NE(config_error("\n[shadow]\nprimary = \"coder-next\"\ncandidate = \"coding\"\nsample = 1\n" OK_REST)
                  .find("shadow.candidate: \"coding\" is a route"),
              std::string::npos);
    // An upstream candidate and an upstream primary are both fine.
    EXPECT_EQ(config_error("\n[shadow]\nprimary = \"coder\"\ncandidate = \"big\"\nsample = 0.1\n" OK_REST), "");
    EXPECT_EQ(config_error("\n[shadow]\nprimary = \"big\"\ncandidate = \"coder\"\nsample = 0.1\n" OK_REST), "");
}

TEST(ShadowConfig, PairsNeedTheirOwnFile) {
    EXPECT_NE(config_error("\n[audit]\npath = \"/var/log.jsonl\"\n[shadow]\nprimary = \"coder\"\ncandidate = "
                           "\"coder-next\"\nsample = 1\npath = \"/var/log.jsonl\"\n")
                  .find("shadow.path: is the audit log's file"),
              std::string::npos);
}

namespace {

// A candidate that answers only when the test lets it, so the mirror's bound can be seen.
class HeldCandidate : public server::ShadowCandidate {
public:
    Outcome answer(const server::ShadowRequest& r, server::ShadowAnswer& out) override {
        std::unique_lock<std::mutex> lock(mu_);
        ++started_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return released_ || cancelled_; });
        out.model = "held";
        out.content = std::string("answer to ") + r.request_id;
        return cancelled_ ? Outcome::Busy : Outcome::Answered;
    }
    void cancel() override {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled_ = true;
        cv_.notify_all();
    }
    void wait_started(int n) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return started_ >= n; });
    }
    void release() {
        std::lock_guard<std::mutex> lock(mu_);
        released_ = true;
        cv_.notify_all();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int started_ = 0;
    bool released_ = false, cancelled_ = false;
};

}  // namespace

TEST(ShadowMirror, DropsBeyondMaxPendingAndRecordsTheRest) {
    const std::string path = ::testing::TempDir() + "/mirror_pairs.jsonl";
    std::remove(path.c_str());
    server::ShadowConfig cfg;
    cfg.primary = "coder";
    cfg.candidate = "held";
    cfg.sample = 1;
    cfg.path = path;
    cfg.max_pending = 2;
    server::Metrics metrics;
    auto held = std::make_unique<HeldCandidate>();
    HeldCandidate* h = held.get();
    {
        server::ShadowMirror mirror(cfg, server::AuditContent::Full, std::move(held), &metrics);
        EXPECT_TRUE(mirror.selects("coder", "coder", std::string(64, '0')));
        EXPECT_TRUE(mirror.selects("coding", "coder", std::string(64, '0')));  // a route to the primary
        EXPECT_FALSE(mirror.selects("other", "other", std::string(64, '0')));
        for (int i = 0; i < 5; ++i) {
            auto r = std::make_shared<server::ShadowRequest>();
            r->request_id = std::string("req") + std::to_string(i);
            mirror.offer(r);
            if (i == 0) h->wait_started(1);  // the first is running: one more may wait, the rest drop
        }
        EXPECT_EQ(metrics.shadow("dropped"), 3u);
        h->release();
        for (int i = 0; i < 500 && metrics.shadow("recorded") < 2; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_EQ(metrics.shadow("recorded"), 2u);
        EXPECT_NE(metrics.render({}).find("hearth_shadow_requests_total{outcome=\"dropped\"} 3"), std::string::npos);
    }
    const auto pairs = audit::read_shadow_pairs(path);
    ASSERT_EQ(pairs.size(), 2u);
    EXPECT_EQ(pairs[0]["request_id"], "req0");
    EXPECT_EQ(pairs[1]["candidate"]["content"], "answer to req1");
    std::remove(path.c_str());
}

TEST(ShadowSampling, MatchesHashlib) {
    const auto ref = reference();
    ASSERT_GE(ref["sampling"].size(), 8u);
    for (const auto& r : ref["sampling"]) {
        SCOPED_TRACE(r.dump());
        const std::string req = r["request_sha256"].get<std::string>();
        const double u = server::shadow_draw(r["seed"].get<uint64_t>(), req);
        EXPECT_DOUBLE_EQ(u, r["u"].get<double>());
        EXPECT_EQ(server::shadow_sampled(u + 1e-9, r["seed"].get<uint64_t>(), req), true);
        EXPECT_EQ(server::shadow_sampled(u, r["seed"].get<uint64_t>(), req), false);  // u < sample, strictly
    }
}

TEST(ShadowSampling, IsReproducibleAndTakesTheShareAskedFor) {
    int taken = 0, taken_other_seed = 0, both = 0;
    const int n = 4000;
    for (int i = 0; i < n; ++i) {
        const std::string req = audit::sha256_hex(std::string("{\"messages\":[{\"role\":\"user\",\"content\":\"q") + std::to_string(i) + "\"}]}");
        const bool a = server::shadow_sampled(0.3, 1, req);
        EXPECT_EQ(a, server::shadow_sampled(0.3, 1, req));  // the same body, the same answer
        const bool b = server::shadow_sampled(0.3, 2, req);
        taken += a;
        taken_other_seed += b;
        both += a && b;
        EXPECT_FALSE(server::shadow_sampled(0.0, 1, req));
        EXPECT_TRUE(server::shadow_sampled(1.0, 1, req));
    }
    // Binomial(4000, 0.3): sd 29; 5 sd either way.
    EXPECT_NEAR(taken, 1200, 145);
    EXPECT_NEAR(taken_other_seed, 1200, 145);
    // Another seed picks another share: independent draws overlap on about 0.09 of requests.
    EXPECT_NEAR(both, 360, 100);
}

TEST(ShadowPairs, RecordShapeFullAndHashes) {
    server::ShadowRequest r;
    r.time = "2026-11-24T02:00:00.000Z";
    r.request_id = "chatcmpl-x";
    r.key_id = "alice";
    r.route = "/v1/chat/completions";
    r.requested_model = "coding";
    r.request_sha256 = std::string(64, 'a');
    r.request.endpoint = server::Endpoint::Chat;
    r.request.messages = server::json::array({{{"role", "user"}, {"content", "Hi"}}});
    r.request.gen.sampling.seed = 7;
    r.request.gen.sampling.temperature = 0;
    r.request.gen.max_tokens = 32;
    r.primary.model = r.primary.served_by = "coder";
    r.primary.sha256 = std::string(64, 'b');
    r.primary.content = "Hello!";
    r.primary.finish_reason = "stop";
    r.primary.completion_tokens = 3;
    server::ShadowAnswer c;
    c.model = c.served_by = "coder-next";
    c.content = "Hi there.";
    c.reasoning_content = "greet";
    c.completion_tokens = 4;
    c.finish_reason = "stop";

    const auto full = server::shadow_pair_record(r, c, server::AuditContent::Full);
    EXPECT_EQ(full["type"], "shadow_pair");
    EXPECT_EQ(full["sampled"], true);
    EXPECT_EQ(full["gradable"], true);
    EXPECT_EQ(full["request_id"], "chatcmpl-x");
    EXPECT_EQ(full["key_id"], "alice");
    EXPECT_EQ(full["model"], "coding");
    EXPECT_EQ(full["request"]["messages"][0]["content"], "Hi");
    EXPECT_EQ(full["request"]["params"]["seed"], 7);
    EXPECT_EQ(full["request"]["params"]["max_tokens"], 32);
    EXPECT_EQ(full["primary"]["model"], "coder");
    EXPECT_EQ(full["primary"]["sha256"], std::string(64, 'b'));
    EXPECT_EQ(full["primary"]["content"], "Hello!");
    EXPECT_TRUE(full["primary"]["error"].is_null());
    EXPECT_EQ(full["candidate"]["content"], "Hi there.");
    EXPECT_EQ(full["candidate"]["reasoning_content"], "greet");
    EXPECT_EQ(full["candidate"]["completion_tokens"], 4);

    c.error = "generation failed: boom";
    const auto hashed = server::shadow_pair_record(r, c, server::AuditContent::Hashes);
    EXPECT_EQ(hashed["gradable"], false);
    EXPECT_FALSE(hashed["request"].contains("messages"));
    EXPECT_EQ(hashed["request"]["prompt_sha256"], audit::sha256_hex(R"([{"role":"user","content":"Hi"}])"));
    EXPECT_FALSE(hashed["primary"].contains("content"));
    EXPECT_EQ(hashed["primary"]["content_sha256"], audit::sha256_hex("Hello!"));
    EXPECT_EQ(hashed["candidate"]["error"], "generation failed: boom");
    EXPECT_EQ(hashed.dump().find("Hello"), std::string::npos);
}

TEST(ShadowStats, McNemarMatchesStatsmodelsAndScipy) {
    const auto ref = reference();
    ASSERT_GE(ref["mcnemar"].size(), 10u);
    for (const auto& r : ref["mcnemar"]) {
        SCOPED_TRACE(r.dump());
        const double p = audit::mcnemar_exact_p(r["b"].get<int64_t>(), r["c"].get<int64_t>());
        EXPECT_NEAR(p, r["p"].get<double>(), 1e-12 * std::max(1.0, r["p"].get<double>()) + 1e-300);
        EXPECT_NEAR(p / r["p"].get<double>(), 1.0, 1e-9);
    }
}

TEST(ShadowDiff, FixtureCounts) {
    const auto pairs = audit::read_shadow_pairs(std::string(HEARTH_FIXTURES) + "/audit/shadow_pairs.jsonl");
    ASSERT_EQ(pairs.size(), 14u);
    const audit::Grader grader;
    const auto d = audit::diff_shadow_pairs(pairs, grader, 0.05, 2);
    ASSERT_EQ(d.groups.size(), 1u);
    const auto& g = d.groups[0];
    EXPECT_EQ(g.primary.model, "coder");
    EXPECT_EQ(g.candidate.model, "coder-next");
    EXPECT_EQ(g.pairs, 13);
    EXPECT_EQ(g.candidate_failed, 1);
    EXPECT_EQ(g.agree_exact, 7);       // six identical answers and identical tool calls
    EXPECT_EQ(g.agree_normalised, 8);  // and one differing in case, spacing and the final full stop
    ASSERT_EQ(g.rates.size(), 2u);
    const auto& refusal = g.rates[0];
    EXPECT_EQ(refusal.metric, "refusal");
    EXPECT_EQ(refusal.primary_only, 1);
    EXPECT_EQ(refusal.candidate_only, 3);
    EXPECT_DOUBLE_EQ(refusal.primary, 1.0 / 13);
    EXPECT_DOUBLE_EQ(refusal.candidate, 3.0 / 13);
    EXPECT_DOUBLE_EQ(refusal.p, 0.625);  // 2 * (1 + 4) / 16
    EXPECT_FALSE(refusal.regression);
    const auto& deflection = g.rates[1];
    EXPECT_EQ(deflection.primary_only, 0);
    EXPECT_EQ(deflection.candidate_only, 1);
    EXPECT_EQ(g.discordant_total, 4);
    ASSERT_EQ(g.discordant.size(), 2u);  // top = 2
    EXPECT_EQ(g.discordant[0].request_id, "chatcmpl-r8");
    EXPECT_EQ(g.discordant[0].what, "refusal");
    EXPECT_EQ(g.discordant[0].prompt, "question 8");
    EXPECT_DOUBLE_EQ(g.primary.mean_tokens, 10);
    EXPECT_DOUBLE_EQ(g.candidate.mean_tokens, 20);
    // Nearest rank over 13 latencies 100..1200 and 1400 ms (pair 13 failed): p50 the 7th, p95 the 13th.
    EXPECT_DOUBLE_EQ(g.primary.latency_p50_ms, 700);
    EXPECT_DOUBLE_EQ(g.primary.latency_p95_ms, 1400);
    EXPECT_DOUBLE_EQ(g.candidate.latency_p50_ms, 350);
    EXPECT_FALSE(audit::any_regression(d));
    const std::string text = audit::shadow_diff_text(d);
    EXPECT_NE(text.find("chatcmpl-r8"), std::string::npos);
    EXPECT_NE(text.find("refusal"), std::string::npos);
    EXPECT_EQ(audit::shadow_diff_json(d)["groups"][0]["rates"][0]["candidate_only"], 3);
}

TEST(ShadowDiff, ManyNewRefusalsAreARegression) {
    const auto base = audit::read_shadow_pairs(std::string(HEARTH_FIXTURES) + "/audit/shadow_pairs.jsonl");
    std::vector<nlohmann::json> pairs;
    for (int i = 0; i < 12; ++i) {
        nlohmann::json r = base[7];  // primary answered, candidate refused
        r["request_id"] = std::string("r") + std::to_string(i);
        pairs.push_back(r);
    }
    const audit::Grader grader;
    const auto d = audit::diff_shadow_pairs(pairs, grader);
    EXPECT_DOUBLE_EQ(d.groups[0].rates[0].p, 2.0 / 4096);
    EXPECT_TRUE(d.groups[0].rates[0].regression);
    EXPECT_TRUE(audit::any_regression(d));
    // The same pairs the other way round (the candidate stopped refusing) are significant, not a regression.
    for (auto& r : pairs) std::swap(r["primary"], r["candidate"]);
    const auto back = audit::diff_shadow_pairs(pairs, grader);
    EXPECT_TRUE(back.groups[0].rates[0].significant);
    EXPECT_FALSE(audit::any_regression(back));
}

TEST(ShadowDiff, HashOnlyPairsCannotBeGraded) {
    auto pairs = audit::read_shadow_pairs(std::string(HEARTH_FIXTURES) + "/audit/shadow_pairs.jsonl");
    for (auto& r : pairs) r["gradable"] = false;
    const audit::Grader grader;
    try {
        audit::diff_shadow_pairs(pairs, grader);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot be graded"), std::string::npos) << e.what();
    }
}

TEST(ShadowDiff, BadLinesAreNamed) {
    const std::string path = ::testing::TempDir() + "/bad_pairs.jsonl";
    {
        std::ofstream out(path);
        out << R"({"type":"shadow_pair","primary":{},"candidate":{}})" << "\n" << R"({"id":"x","verdict":"refusal"})" << "\n";
    }
    try {
        audit::read_shadow_pairs(path);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad_pairs.jsonl:2: not a shadow pair"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(audit::is_shadow_pairs_file(path));
    std::remove(path.c_str());
}

TEST(ShadowDiff, NormalisesAnswers) {
    EXPECT_EQ(audit::normalise_answer("  Paris  IS\n the capital. "), "paris is the capital");
    EXPECT_EQ(audit::normalise_answer("Oui !"), "oui");
    EXPECT_EQ(audit::normalise_answer("是的。"), "是的");
}
