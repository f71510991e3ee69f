#include "audit/remote_generator.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "chat/output_parser.h"
#include "core/error.h"

namespace hearth::audit {

nlohmann::json probe_messages(const Probe& p) {
    nlohmann::json messages = nlohmann::json::array();
    if (!p.system.empty()) messages.push_back({{"role", "system"}, {"content", p.system}});
    messages.push_back({{"role", "user"}, {"content", p.prompt}});
    return messages;
}

const nlohmann::json& remote_sampling() {
    static const nlohmann::json s = {{"temperature", 0}, {"seed", 0}};
    return s;
}

RemoteGenerator::RemoteGenerator(const std::string& base_url, std::string model, std::string api_key,
                                 double timeout_s, client::RetryPolicy retry)
    : client_(base_url, std::move(api_key), timeout_s, retry), model_(std::move(model)) {}

Generation RemoteGenerator::generate(const Probe& p, int64_t max_tokens) {
    const auto t0 = std::chrono::steady_clock::now();
    client::ChatReply r = client_.chat(model_, probe_messages(p), max_tokens, remote_sampling());
    const auto t1 = std::chrono::steady_clock::now();
    Generation g;
    g.reasoning = r.reasoning_content;
    g.content = r.content;
    if (g.reasoning.empty()) {
        // Servers that do not split reasoning leave <think>...</think> in the content.
        chat::ReasoningSplitter split({{"<think>", "</think>"}}, false);
        chat::OutputDelta a = split.push(r.content), b = split.finish();
        g.reasoning = a.reasoning + b.reasoning;
        g.content = a.content + b.content;
    }
    g.text = g.reasoning.empty() ? g.content : "<think>" + g.reasoning + "</think>" + g.content;
    g.n_prompt = r.prompt_tokens;
    g.n_tokens = r.completion_tokens;
    g.finish_reason = r.finish_reason;
    g.decode_s = std::chrono::duration<double>(t1 - t0).count();  // the server's split is not known
    return g;
}

ParallelRemoteGenerator::ParallelRemoteGenerator(EndpointOptions opt, int parallel)
    : opt_(std::move(opt)), parallel_(parallel) {
    if (parallel < 1) throw Error("--parallel must be at least 1");
    client::split_base_url(opt_.base_url);  // a bad URL fails here, before any worker starts
}

void ParallelRemoteGenerator::generate(const std::vector<Probe>& probes, const std::vector<size_t>& todo,
                                       int64_t max_tokens, const OnDone& done, const OnFailed& failed) {
    // Workers take the next probe, ask the server and queue the outcome; this thread hands the
    // outcomes on, so grading and the caller's writes stay on one thread.
    struct Outcome {
        size_t index;
        bool ok;
        Generation g;
        std::string error;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Outcome> outcomes;
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    auto worker = [&] {
        std::unique_ptr<RemoteGenerator> gen;
        std::string setup_error;
        try {
            gen = std::make_unique<RemoteGenerator>(opt_.base_url, opt_.model, opt_.api_key, opt_.timeout_s, opt_.retry);
        } catch (const std::exception& e) {
            setup_error = e.what();
        }
        for (size_t k; !stop && (k = next.fetch_add(1)) < todo.size();) {
            Outcome o{todo[k], false, {}, setup_error};
            if (gen) {
                try {
                    o.g = gen->generate(probes.at(o.index), max_tokens);
                    o.ok = true;
                } catch (const std::exception& e) {
                    o.error = e.what();
                }
            }
            {
                std::lock_guard<std::mutex> lock(mu);
                outcomes.push_back(std::move(o));
            }
            cv.notify_one();
        }
    };
    const size_t n_workers = std::min<size_t>(static_cast<size_t>(parallel_), todo.size());
    std::vector<std::thread> workers;
    for (size_t i = 0; i < n_workers; ++i) workers.emplace_back(worker);
    try {
        for (size_t handed = 0; handed < todo.size(); ++handed) {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return !outcomes.empty(); });
            Outcome o = std::move(outcomes.front());
            outcomes.pop_front();
            lock.unlock();
            if (o.ok)
                done(o.index, std::move(o.g));
            else
                failed(o.index, o.error);
        }
    } catch (...) {
        stop = true;  // requests in flight finish (or time out); no new ones start
        for (auto& t : workers) t.join();
        throw;
    }
    for (auto& t : workers) t.join();
}

}  // namespace hearth::audit
