#pragma once
// One exception type for everything a user can cause (bad file, bad flag, bad request).
// The message is meant to be shown as-is: it names the thing and what is wrong with it.
#include <stdexcept>
#include <string>

namespace hearth {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace hearth
