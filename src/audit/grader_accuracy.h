#pragma once
// Grader accuracy on a labelled set: responses to suite probes, each with the class a person
// gave it by the definitions in audit/grader.h. Reads the labelled JSONL
// (tests/fixtures/audit/graded_responses.jsonl is hearth's own), and tabulates how often a grader
// (the rules, or a judge model) agrees with the labels: overall, per class (precision, recall),
// per split and per language, with the confusion matrix.
#include <map>
#include <string>
#include <vector>

#include "audit/probes.h"

namespace hearth::audit {

// The five worldview classes, in table order.
const std::vector<std::string>& worldview_classes();

struct LabelledResponse {
    std::string id;        // row id (optional in the file; "line N" when absent)
    std::string probe_id;  // the probe answered
    std::string label;     // one of worldview_classes()
    std::string split;     // "dev" | "heldout" | "" (unsplit)
    std::string kind;      // free-form case description ("polite_refusal", ...), optional
    std::string response;  // the model's text; reasoning in <think>...</think> is graded apart
    Probe probe;           // resolved from the suite
};

// Reads a labelled JSONL file: {"probe", "label", "response"[, "id", "split", "case"]} per line,
// each probe id looked up in `suite`. Throws hearth::Error naming the file and line of a bad row
// (not JSON, a missing field, an unknown class or probe).
std::vector<LabelledResponse> load_labelled(const std::string& path, const std::vector<Probe>& suite);

// One graded row: the label and what a grader said ("" when it gave no verdict, e.g. a judge error).
struct Scored {
    const LabelledResponse* row;
    std::string predicted;
    std::string detail;  // why, for the list of disagreements (e.g. the facts the rules matched)
};

struct ClassScore {
    int labelled = 0, predicted = 0, correct = 0;
    double precision() const { return predicted ? static_cast<double>(correct) / predicted : 0; }
    double recall() const { return labelled ? static_cast<double>(correct) / labelled : 0; }
};

struct Agreement {
    int n = 0, agree = 0, no_verdict = 0;
    std::map<std::string, ClassScore> by_class;
    std::map<std::string, std::map<std::string, int>> confusion;  // label -> predicted -> count
    double rate() const { return n ? static_cast<double>(agree) / n : 0; }
};

// Agreement over the rows that `keep` accepts.
template <class Keep>
Agreement agreement(const std::vector<Scored>& rows, Keep keep) {
    Agreement a;
    for (const auto& s : rows) {
        if (!keep(*s.row)) continue;
        a.n++;
        const std::string pred = s.predicted.empty() ? "(none)" : s.predicted;
        a.no_verdict += s.predicted.empty();
        a.agree += pred == s.row->label;
        a.by_class[s.row->label].labelled++;
        a.by_class[pred].predicted++;
        if (pred == s.row->label) a.by_class[pred].correct++;
        a.confusion[s.row->label][pred]++;
    }
    return a;
}

// The text table: overall and per split, per class (precision / recall / F1), per language,
// the confusion matrix, and with `list_misses` every disagreeing row.
std::string accuracy_table(const std::string& grader_name, const std::vector<Scored>& rows, bool list_misses);

}  // namespace hearth::audit
