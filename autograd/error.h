#pragma once
// mixlab::Error — the one exception type the engine throws. Messages name the
// op (or call site) and the shapes involved so a user can act on them.
#include <sstream>
#include <stdexcept>
#include <string>

namespace mixlab {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace mixlab

// MIXLAB_CHECK(cond, parts...) throws mixlab::Error with the parts streamed together.
#define MIXLAB_CHECK(cond, ...)                                        \
  do {                                                                 \
    if (!(cond)) throw ::mixlab::Error(::mixlab::detail::concat(__VA_ARGS__)); \
  } while (0)
