#pragma once
// The syntax tree of a parsed template. One generic node type for expressions and one for
// statements keeps the parser and the evaluator short; which fields are used depends on kind.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace hearth::chat::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    enum class Kind {
        Literal,    // value
        Name,       // name
        ListLit,    // args
        TupleLit,   // args
        DictLit,    // args: key, value, key, value ...
        Attr,       // a.name
        Subscript,  // a[b]
        Slice,      // a[args[0]:args[1]:args[2]] (null entries are omitted bounds)
        Call,       // a(args, kwargs)
        Filter,     // a | name(args, kwargs); a is null inside a {% filter %} chain
        Test,       // a is [not] name(args)
        Unary,      // op a   (op: "-", "+", "not")
        Binary,     // a op b (op: + - * / // % ** ~ and or in "not in" == != < > <= >=)
        Compare,    // a op1 x1 op2 x2 ...: a chain of two or more comparisons; kwargs = (op, x)
        Cond,       // a if b else c (c may be null)
    };
    Kind kind;
    int line = 0;
    Value value;
    std::string name;  // Name, Attr, Filter, Test; op for Unary/Binary
    bool negated = false;
    ExprPtr a, b, c;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;

    Expr(Kind k, int l) : kind(k), line(l) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
    enum class Kind {
        Text,        // text
        Output,      // {{ expr }}
        If,          // conds[i] -> bodies[i]; else_body
        For,         // targets in expr [if cond] body else_body
        Set,         // targets (or ns attr: expr_target) = expr, or block set (body)
        Macro,       // name(params with defaults) body
        CallBlock,   // {% call macro(args) %} body {% endcall %}: expr is the call
        FilterBlock, // {% filter f %} body: expr is the filter chain (innermost a == null)
        Generation,  // {% generation %} body
        Break,
        Continue,
    };
    Kind kind;
    int line = 0;
    std::string text;
    ExprPtr expr;         // Output, For (iterable), Set (value), CallBlock (call)
    ExprPtr cond;         // For filter
    ExprPtr ns_target;    // Set: the namespace expression of `ns.attr`
    std::string ns_attr;  // Set: attribute name
    std::vector<std::string> targets;  // For / Set names
    std::vector<ExprPtr> conds;
    std::vector<Body> bodies;
    Body body, else_body;
    std::string name;  // Macro
    std::vector<std::pair<std::string, ExprPtr>> params;  // Macro params (default may be null)

    Stmt(Kind k, int l) : kind(k), line(l) {}
};

}  // namespace hearth::chat::jinja
