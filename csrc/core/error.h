// Typed engine errors. The bindings translate them to ValueError, TypeError, IndexError and
// RuntimeError. Message format (DESIGN.md): "<op>: <what is required>, got <actual values>".
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <cstdint>

namespace pyml {

struct ValueError : std::runtime_error { using std::runtime_error::runtime_error; };
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
struct RuntimeError : std::runtime_error { using std::runtime_error::runtime_error; };
// A CUDA allocation that failed even after the allocator released its cached blocks.
struct CudaOutOfMemoryError : RuntimeError { using RuntimeError::RuntimeError; };

std::string shape_str(const std::vector<int64_t>& s);  // "(2, 3)"

namespace detail {
inline void put(std::ostringstream&) {}
template <typename T, typename... R> void put(std::ostringstream& o, const T& v, const R&... r) {
  if constexpr (std::is_same_v<T, std::vector<int64_t>>) o << shape_str(v); else o << v;
  put(o, r...);
}
}  // namespace detail

template <typename... A> std::string cat_str(const A&... a) {
  std::ostringstream o; detail::put(o, a...); return o.str();
}

}  // namespace pyml

// PYML_CHECK(cond, ErrorType, parts...): parts are streamed (shape vectors print as tuples).
#define PYML_CHECK(cond, Err, ...) \
  do { if (!(cond)) throw ::pyml::Err(::pyml::cat_str(__VA_ARGS__)); } while (0)
