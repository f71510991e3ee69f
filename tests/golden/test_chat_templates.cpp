// Real chat templates (tests/fixtures/chat/templates) rendered by hearth must equal, byte for
// byte, what Python's jinja2 renders the way transformers' apply_chat_template does
// (tools/gen_chat_goldens.py); cases where jinja2 raises must raise hearth::Error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "core/error.h"

namespace {

using nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The clock the generator pins (its "now" field, ISO 8601 without a zone).
std::tm parse_now(const std::string& iso) {
    std::tm tm{};
    std::istringstream in(iso);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    std::time_t t = timegm(&tm);
    std::tm out{};
    gmtime_r(&t, &out);
    return out;
}

std::string first_difference(const std::string& got, const std::string& want) {
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    auto around = [&](const std::string& s) {
        size_t b = i >= 40 ? i - 40 : 0;
        return ordered_json(s.substr(b, 80)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    return "first difference at byte " + std::to_string(i) + " (got " + std::to_string(got.size()) +
           " bytes, want " + std::to_string(want.size()) + ")\n  got:  " + around(got) + "\n  want: " + around(want);
}

class ChatTemplateGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateGolden, MatchesJinja2) {
    const fs::path dir = fs::path(HEARTH_FIXTURES) / "chat";
    ordered_json doc = ordered_json::parse(read_file(dir / "goldens" / GetParam()));
    const std::string source = read_file(dir / "templates" / doc["template"].get<std::string>());
    hearth::chat::ChatTemplate tmpl(source, doc["bos_token"].get<std::string>(), doc["eos_token"].get<std::string>());
    const std::tm now = parse_now(doc["now"].get<std::string>());
    tmpl.set_clock([now] { return now; });
    size_t n = 0, n_err = 0;
    for (const auto& c : doc["cases"]) {
        SCOPED_TRACE(doc["template"].get<std::string>() + " case " + c["name"].get<std::string>());
        if (c.contains("expected")) {
            std::string got;
            try {
                got = tmpl.render(c["messages"], c["tools"], c["add_generation_prompt"].get<bool>(), c["extra"]);
            } catch (const hearth::Error& e) {
                ADD_FAILURE() << "hearth threw: " << e.what();
                continue;
            }
            const std::string want = c["expected"].get<std::string>();
            if (got != want) ADD_FAILURE() << first_difference(got, want);
            ++n;
        } else {
            try {
                std::string got = tmpl.render(c["messages"], c["tools"], c["add_generation_prompt"].get<bool>(), c["extra"]);
                ADD_FAILURE() << "jinja2 raised " << c["error"] << " but hearth rendered "
                              << ordered_json(got).dump();
            } catch (const hearth::Error& e) {
                if (c.contains("raise_exception")) {
                    EXPECT_NE(std::string(e.what()).find(c["raise_exception"].get<std::string>()), std::string::npos)
                        << "hearth: " << e.what() << "\njinja2: " << c["error"];
                }
            }
            ++n_err;
        }
    }
    std::printf("  %s: %zu renders equal, %zu expected errors\n", doc["template"].get<std::string>().c_str(), n, n_err);
}

std::vector<std::string> golden_files() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(fs::path(HEARTH_FIXTURES) / "chat" / "goldens"))
        if (e.path().extension() == ".json") out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string s;
    for (char c : info.param.substr(0, info.param.size() - 5)) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return s;
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatTemplateGolden, ::testing::ValuesIn(golden_files()), test_name);

}  // namespace
