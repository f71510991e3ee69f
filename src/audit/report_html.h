#pragma once
// `hearth audit report`: one self-contained HTML file (no network: Chart.js is inlined from
// Debian's libjs-chart.js) with, per model, the worldview rates of probes and controls with
// their 95% intervals, the asymmetry, per-language and per-topic tables, the codesec rates and
// the task accuracy. The metrics JSON (audit/metrics.h) is embedded as
// <script type="application/json" id="hearth-metrics"> so the numbers can be read back.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::audit {

struct ReportOptions {
    std::string title = "hearth audit report";
    std::vector<std::string> sources;  // results files, listed in the header
    std::string chartjs_path;          // "" = default_chartjs_path()
};

// $HEARTH_CHARTJS, else /usr/share/javascript/chart.js/chart.min.js.
std::string default_chartjs_path();

// Without a readable Chart.js the report still has every table, and says why charts are missing.
std::string render_report(const std::vector<nlohmann::json>& records, const ReportOptions& opt);

// Text for HTML element content and attribute values.
std::string html_escape(const std::string& s);

}  // namespace hearth::audit
