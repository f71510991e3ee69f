#include "audit/batch_runner.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "core/progress.h"

namespace hearth::audit {

ParallelRunStats run_probes_parallel(ParallelGenerator& gen, const std::vector<Probe>& probes,
                                     const std::vector<size_t>& todo, const RunOptions& opt, ResponseCache* cache,
                                     const std::function<void(const ProbeResult&, bool cached)>& on_result,
                                     const CodeScanner* scanner) {
    const auto t0 = std::chrono::steady_clock::now();
    ParallelRunStats stats;
    Grader grader;
    const std::string name = gen.model_name();
    std::unique_ptr<Progress> bar;
    if (opt.progress) bar = std::make_unique<Progress>("auditing", todo.size());

    // What each position of `todo` ended as; results leave in todo order.
    struct Settled {
        std::optional<Generation> g;  // empty: failed
        bool cached = false;
    };
    std::map<size_t, Settled> settled;  // by position in todo
    std::map<size_t, size_t> position;  // probe index -> position in todo
    std::map<size_t, std::string> keys;  // probe index -> cache key
    size_t emitted = 0, n_settled = 0;
    auto flush_in_order = [&] {
        for (auto it = settled.find(emitted); it != settled.end(); it = settled.find(emitted)) {
            const Probe& p = probes.at(todo[emitted]);
            if (it->second.g) {
                const Generation& g = *it->second.g;
                ProbeResult r = grade_generation(p, g, grader, scanner, name);
                r.latency_s = g.prefill_s + g.decode_s;
                if (opt.judge) apply_judge(r, *opt.judge, opt.grade_by_judge);
                if (on_result) on_result(r, it->second.cached);
            }
            settled.erase(it);
            ++emitted;
        }
    };
    auto settle = [&](size_t index, std::optional<Generation> g, bool cached) {
        settled[position.at(index)] = Settled{std::move(g), cached};
        ++n_settled;
        if (bar) bar->update(n_settled);
        flush_in_order();
    };

    std::vector<size_t> misses;
    for (size_t k = 0; k < todo.size(); ++k) {
        const size_t i = todo[k];
        position[i] = k;
        if (!cache) {
            misses.push_back(i);
            continue;
        }
        const std::string key =
            response_cache_key(gen.identity(), gen.request_text(probes.at(i)), gen.sampling(), opt.max_tokens);
        if (const Generation* hit = cache->find(key)) {
            ++stats.cached;
            settle(i, *hit, true);
        } else {
            keys[i] = key;
            misses.push_back(i);
        }
    }
    gen.generate(
        probes, misses, opt.max_tokens,
        [&](size_t i, Generation g) {
            ++stats.generated;
            if (cache) cache->put(keys.at(i), g);
            settle(i, std::move(g), false);
        },
        [&](size_t i, const std::string& message) {
            stats.failures.emplace_back(probes.at(i).id, message);
            settle(i, std::nullopt, false);
        });
    if (bar) bar->finish();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return stats;
}

}  // namespace hearth::audit
