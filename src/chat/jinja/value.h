#pragma once
// Values of the Jinja subset, with Python semantics (what jinja2 does under the hood):
// truthiness, equality, str()/repr(), json.dumps, and jinja2's default Undefined.
// Lists and dicts are shared by reference, as Python objects are, so a namespace or list
// changed through one name is changed for every name that refers to it. Dicts keep
// insertion order.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::chat::jinja {

class Value;
using List = std::vector<Value>;

// Positional and keyword arguments of a call.
struct CallArgs {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    const Value* get_kw(const std::string& name) const;
};

struct Callable {
    std::string name;
    std::function<Value(CallArgs&)> fn;
};

class Dict;

class Value {
public:
    enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable };

    Value() = default;  // Undefined
    static Value undefined(std::string hint = "") { Value v; v.s_ = std::move(hint); return v; }
    static Value none() { Value v; v.kind_ = Kind::None; return v; }
    Value(bool b) : kind_(Kind::Bool), i_(b ? 1 : 0) {}
    Value(int v) : kind_(Kind::Int), i_(v) {}
    Value(int64_t v) : kind_(Kind::Int), i_(v) {}
    Value(double v) : kind_(Kind::Float), f_(v) {}
    Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
    Value(const char* s) : kind_(Kind::String), s_(s) {}
    static Value list(List items = {});
    static Value tuple(List items);
    static Value dict();
    static Value namespace_();
    static Value function(std::string name, std::function<Value(CallArgs&)> fn);
    static Value from_json(const nlohmann::ordered_json& j);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_int() const { return kind_ == Kind::Int; }
    bool is_float() const { return kind_ == Kind::Float; }
    bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_list() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }  // a Python sequence
    bool is_dict() const { return kind_ == Kind::Dict; }
    bool is_namespace() const { return kind_ == Kind::Namespace; }
    bool is_callable() const { return kind_ == Kind::Callable; }

    bool as_bool() const { return i_ != 0; }
    int64_t as_int() const { return i_; }  // Bool and Int
    double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(i_); }
    const std::string& str_ref() const { return s_; }       // String (or the Undefined's hint)
    const std::string& undefined_hint() const { return s_; }
    List& items() const { return *list_; }                   // List, Tuple
    Dict& dict_ref() const { return *dict_; }                // Dict, Namespace
    const Callable& callable() const { return *fn_; }

    bool truthy() const;
    std::string type_name() const;  // Python's type name, for messages
    std::string str() const;        // Python str() (jinja2 prints this); Undefined -> ""
    std::string repr() const;       // Python repr()

    struct JsonOptions {
        bool ensure_ascii = false;
        std::optional<std::string> indent;  // nullopt: one line
        std::optional<std::pair<std::string, std::string>> separators;
        bool sort_keys = false;
    };
    // Python's json.dumps; throws std::runtime_error for values JSON cannot hold.
    std::string dumps(const JsonOptions& o) const;

    friend bool operator==(const Value& a, const Value& b);  // Python ==

private:
    void dump_to(std::string& out, const JsonOptions& o, const std::string& item_sep,
                 const std::string& key_sep, int depth) const;

    Kind kind_ = Kind::Undefined;
    int64_t i_ = 0;
    double f_ = 0;
    std::string s_;
    std::shared_ptr<List> list_;
    std::shared_ptr<Dict> dict_;
    std::shared_ptr<Callable> fn_;
};

// An insertion-ordered mapping (Python dict). Lookup is linear: template dicts are small.
class Dict {
public:
    std::vector<std::pair<Value, Value>> entries;
    const Value* find(const Value& key) const;
    Value* find(const Value& key);
    void set(const Value& key, Value v);
    size_t size() const { return entries.size(); }
};

// Python helpers shared by the evaluator.
std::string py_float_repr(double x);
std::string py_str_repr(const std::string& s);
std::u32string utf8_to_u32(const std::string& s);
std::string u32_to_utf8(const std::u32string& s);
size_t utf8_length(const std::string& s);  // code points
bool is_py_space(char32_t c);

}  // namespace hearth::chat::jinja
