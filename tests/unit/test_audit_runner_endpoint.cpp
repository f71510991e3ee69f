// Audits through an OpenAI-compatible endpoint against a fake server in the test: a 429 with
// Retry-After is waited out and retried, 5xx is retried with backoff, a 4xx is not, spent retries
// name the attempts; with several requests in flight results still come back in probe order and
// a probe the server keeps failing is reported without stopping the others.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "audit/batch_runner.h"
#include "audit/remote_generator.h"
#include "client/openai_client.h"
#include "core/error.h"
#include "server/http.h"

using namespace hearth;

namespace {

std::string completion(const std::string& content) {
    nlohmann::json j = {{"id", "x"},
                        {"object", "chat.completion"},
                        {"choices",
                         {{{"index", 0},
                           {"message", {{"role", "assistant"}, {"content", content}}},
                           {"finish_reason", "stop"}}}},
                        {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 2}}}};
    return j.dump();
}

// A server on a free port whose handler the test scripts.
class FakeServer {
public:
    explicit FakeServer(std::function<void(const httplib::Request&, httplib::Response&)> h) {
        svr_.Post("/v1/chat/completions", std::move(h));
        port_ = svr_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { svr_.listen_after_bind(); });
        // The socket is bound already (requests queue); wait for the loop anyway, briefly.
        for (int i = 0; i < 500 && !svr_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~FakeServer() {
        svr_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

private:
    httplib::Server svr_;
    int port_ = 0;
    std::thread thread_;
};

nlohmann::json messages() { return nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}}); }

}  // namespace

TEST(AuditRunnerEndpoint, RetriesA429AfterRetryAfterThenA503) {
    std::atomic<int> calls{0};
    FakeServer srv([&](const httplib::Request&, httplib::Response& res) {
        const int n = ++calls;
        if (n == 1) {
            res.status = 429;
            res.set_header("Retry-After", "1");
            res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
        } else if (n == 2) {
            res.status = 503;
            res.set_content(R"({"error":{"message":"busy"}})", "application/json");
        } else {
            res.set_content(completion("hello"), "application/json");
        }
    });
    client::RetryPolicy retry;
    retry.base_delay_s = 0.05;
    client::OpenAIClient c(srv.url(), "", 10, retry);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = c.chat("m", messages(), 8);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.content, "hello");
    EXPECT_EQ(calls.load(), 3);
    EXPECT_EQ(c.last_attempts(), 3);
    EXPECT_GE(secs, 1.0);  // the Retry-After second was waited out
    EXPECT_LT(secs, 5.0);
}

TEST(AuditRunnerEndpoint, A400IsNotRetriedAndSpentRetriesNameTheAttempts) {
    std::atomic<int> calls{0};
    FakeServer bad([&](const httplib::Request&, httplib::Response& res) {
        ++calls;
        res.status = 400;
        res.set_content(R"({"error":{"message":"bad model"}})", "application/json");
    });
    client::RetryPolicy retry;
    retry.base_delay_s = 0.01;
    {
        client::OpenAIClient c(bad.url(), "", 10, retry);
        try {
            c.chat("m", messages(), 8);
            FAIL() << "a 400 was accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("HTTP 400: bad model"), std::string::npos) << e.what();
        }
        EXPECT_EQ(calls.load(), 1);
    }
    std::atomic<int> calls500{0};
    FakeServer failing([&](const httplib::Request&, httplib::Response& res) {
        ++calls500;
        res.status = 500;
        res.set_content("oops", "text/plain");
    });
    retry.max_retries = 2;
    client::OpenAIClient c(failing.url(), "", 10, retry);
    try {
        c.chat("m", messages(), 8);
        FAIL() << "a 500 was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("HTTP 500: oops (after 3 attempts)"), std::string::npos) << e.what();
    }
    EXPECT_EQ(calls500.load(), 3);
}

TEST(AuditRunnerEndpoint, RetryAfterParsing) {
    EXPECT_EQ(client::parse_retry_after("2"), 2.0);
    EXPECT_EQ(client::parse_retry_after(" 10 "), 10.0);
    EXPECT_EQ(client::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), -1.0);
    EXPECT_EQ(client::parse_retry_after(""), -1.0);
    EXPECT_EQ(client::parse_retry_after("-3"), -1.0);
}

TEST(AuditRunnerEndpoint, ConcurrentRequestsKeepProbeOrderAndReportFailures) {
    std::mutex mu;
    int in_flight = 0, most = 0;
    FakeServer srv([&](const httplib::Request& req, httplib::Response& res) {
        const auto body = nlohmann::json::parse(req.body);
        const std::string prompt = body["messages"].back()["content"];
        {
            std::lock_guard<std::mutex> lock(mu);
            most = std::max(most, ++in_flight);
        }
        // Later probes answer sooner, so answers arrive out of order.
        const int n = std::stoi(prompt.substr(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(10 * (12 - n)));
        {
            std::lock_guard<std::mutex> lock(mu);
            --in_flight;
        }
        if (prompt == "p5") {
            res.status = 500;
            res.set_content(R"({"error":{"message":"always broken"}})", "application/json");
            return;
        }
        res.set_content(completion("answer " + prompt), "application/json");
    });
    std::vector<audit::Probe> probes;
    for (int i = 0; i < 12; ++i) {
        audit::Probe p;
        p.id = "id" + std::to_string(i);
        p.suite = "t";
        p.topic = "t";
        p.language = "en";
        p.prompt = "p" + std::to_string(i);
        probes.push_back(p);
    }
    audit::EndpointOptions eo;
    eo.base_url = srv.url();
    eo.model = "m";
    eo.retry.max_retries = 1;
    eo.retry.base_delay_s = 0.01;
    audit::ParallelRemoteGenerator gen(eo, 4);
    audit::RunOptions opt;
    opt.progress = false;
    opt.max_tokens = 8;
    std::vector<std::string> ids, answers;
    std::vector<size_t> todo;
    for (size_t i = 0; i < probes.size(); ++i) todo.push_back(i);
    const auto st = audit::run_probes_parallel(gen, probes, todo, opt, nullptr, [&](const audit::ProbeResult& r, bool) {
        ids.push_back(r.probe.id);
        answers.push_back(r.graded_text);
    });
    ASSERT_EQ(ids.size(), 11u);
    size_t k = 0;
    for (int i = 0; i < 12; ++i) {
        if (i == 5) continue;
        EXPECT_EQ(ids[k], "id" + std::to_string(i));
        EXPECT_EQ(answers[k], "answer p" + std::to_string(i));
        ++k;
    }
    ASSERT_EQ(st.failures.size(), 1u);
    EXPECT_EQ(st.failures[0].first, "id5");
    EXPECT_NE(st.failures[0].second.find("always broken (after 2 attempts)"), std::string::npos) << st.failures[0].second;
    EXPECT_GT(most, 1);   // requests overlapped
    EXPECT_LE(most, 4);   // and never more than P
}
