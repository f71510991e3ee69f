// Reasoning split: <think>...</think> and the families' variants, streamed in any chunks.
#include <gtest/gtest.h>

#include "chat/output_parser.h"

using hearth::chat::OutputDelta;
using hearth::chat::ReasoningSplitter;

namespace {

struct Split {
    std::string reasoning, content;
};

Split feed(bool inside, const std::vector<std::string>& chunks, std::vector<std::string> implicit = {},
           std::vector<std::pair<std::string, std::string>> tags = {{"<think>", "</think>"}}) {
    ReasoningSplitter s(tags, inside, implicit);
    Split out;
    for (const auto& c : chunks) {
        auto d = s.push(c);
        out.reasoning += d.reasoning;
        out.content += d.content;
    }
    auto d = s.finish();
    out.reasoning += d.reasoning;
    out.content += d.content;
    return out;
}

// Whole, byte at a time and every two-way split give the same answer.
void check(bool inside, const std::string& text, const std::string& reasoning, const std::string& content,
           std::vector<std::string> implicit = {}) {
    SCOPED_TRACE(text);
    auto w = feed(inside, {text}, implicit);
    EXPECT_EQ(w.reasoning, reasoning);
    EXPECT_EQ(w.content, content);
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    auto b = feed(inside, bytes, implicit);
    EXPECT_EQ(b.reasoning, reasoning);
    EXPECT_EQ(b.content, content);
    for (size_t k = 0; k <= text.size(); ++k) {
        auto s = feed(inside, {text.substr(0, k), text.substr(k)}, implicit);
        ASSERT_EQ(s.reasoning, reasoning) << "split at " << k;
        ASSERT_EQ(s.content, content) << "split at " << k;
    }
}

}  // namespace

TEST(ChatReasoning, NoTrace) {
    check(false, "Hello there.", "", "Hello there.");
    check(false, "  indented <thin", "", "  indented <thin");
    check(false, "a <think>late</think> tag stays", "", "a <think>late</think> tag stays");
    check(false, "", "", "");
}

TEST(ChatReasoning, QwenThinkBlock) {
    check(false, "<think>\nStep 1.\nStep 2.\n</think>\n\nAnswer.", "Step 1.\nStep 2.", "Answer.");
    check(false, "<think>\n\n</think>\n\nAnswer.", "", "Answer.");  // enable_thinking=false output
}

TEST(ChatReasoning, TemplateOpenedTrace) {
    // DeepSeek-R1 / QwQ: the prompt ends with "<think>\n"; output starts inside the trace.
    check(true, "Let me see.\n</think>\n\n4", "Let me see.", "4");
    check(true, "<think>\nDouble open.</think>x", "Double open.", "x");
    check(true, "never closed", "never closed", "");
    EXPECT_TRUE(hearth::chat::prompt_opens_reasoning("<｜User｜>hi<｜Assistant｜><think>\n"));
    EXPECT_FALSE(hearth::chat::prompt_opens_reasoning("<｜Assistant｜><think>\n</think>"));
    EXPECT_FALSE(hearth::chat::prompt_opens_reasoning("<|im_start|>assistant\n"));
}

TEST(ChatReasoning, GlmLeadingNewline) {
    // GLM-4.5 writes "\n<think>...</think>" after <|assistant|>.
    check(false, "\n<think>Plan it.</think>\nDone.", "Plan it.", "Done.");
}

TEST(ChatReasoning, KimiImplicitClose) {
    // Kimi-K2-Thinking may open its tool-call section inside the trace; the marker is kept.
    check(false, "<think>Look up<|tool_calls_section_begin|>X", "Look up", "<|tool_calls_section_begin|>X",
          {"<|tool_calls_section_begin|>"});
    auto k = feed(false, {"◁think▷", "hm◁/th", "ink▷ok"}, {}, {{"<think>", "</think>"}, {"◁think▷", "◁/think▷"}});
    EXPECT_EQ(k.reasoning, "hm");
    EXPECT_EQ(k.content, "ok");
}

TEST(ChatReasoning, StreamsEarly) {
    // Reasoning is passed on before the trace closes, holding back only a possible tag.
    ReasoningSplitter s({{"<think>", "</think>"}}, false);
    OutputDelta d = s.push("<think>abc</th");
    EXPECT_EQ(d.reasoning, "abc");
    d = s.push("ink>xyz");
    EXPECT_EQ(d.content, "xyz");
}
