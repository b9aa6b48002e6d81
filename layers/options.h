#pragma once
// Options are Boost.Program_options descriptions: each mixer and task declares
// its keys (prefixed by its section, e.g. "mha.n_heads") with defaults, and
// the CLI, `mixlab list` and the tests all read them from one place.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace mixlab {

namespace po = boost::program_options;

// Parses `args` ("--section.key=value" or "section.key=value") against `desc`
// and applies the defaults. Unknown keys and bad values throw mixlab::Error
// naming the key. Used by tests and by code that builds components without a
// command line.
po::variables_map parse_options(const po::options_description& desc, const std::vector<std::string>& args = {});

// A double-valued key with its default shown as the shortest text that reads
// back to the same double ("0.1"); Boost's own default text prints 17
// significant digits ("0.10000000000000001").
po::typed_value<double>* real_value(double default_value);

// Typed read with a clear error when the key is missing (a programming error:
// every key must be declared with a default).
template <typename T>
T option(const po::variables_map& vm, const std::string& key);

}  // namespace mixlab
