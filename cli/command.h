#pragma once
// The subcommand registry of the `mixlab` executable. A subcommand lives in
// its own file and registers itself with one line at namespace scope:
//
//   MIXLAB_REGISTER_COMMAND(bench, "Measure kernel throughput (mixlab bench --help)", run_bench);
//
// `mixlab --help` lists the registry, so no list of subcommands is kept by hand.
// Self-registration through static initialisers is safe here because cli/*.cpp
// are compiled straight into the executable (never into a static library, whose
// unreferenced objects the linker would drop).
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "autograd/device.h"

namespace mixlab::cli {

// The arguments after the subcommand name (`mixlab bench gemm --quick` gives
// the `bench` command {"gemm", "--quick"}).
using Args = std::vector<std::string>;

struct Command {
  std::string name;
  std::string summary;  // one line, shown by `mixlab --help`
  std::function<int(const Args&)> run;  // returns the process exit code
};

// A bad command line. main() prints "mixlab: <what>" as one line on stderr and
// exits with kUsageExitCode, before any work starts.
// "1 thread", "4 threads": a count with its noun in the right number.
std::string count_of(int64_t n, const std::string& noun);

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};
inline constexpr int kUsageExitCode = 2;

// Every registered command, ordered by name.
const std::map<std::string, Command>& commands();
// Adds a command; a second command with the same name is a programming error
// and aborts at start-up with a message.
bool register_command(Command command);

// "a, b, c" from the keys of a map (used in "allowed: ..." messages).
template <typename Map>
std::string join_keys(const Map& map) {
  std::string out;
  for (const auto& [key, value] : map) out += (out.empty() ? "" : ", ") + key;
  return out;
}

// Parses `args` against `options` (and `positional`, if given) into `vm`.
// Boost's errors become a UsageError that names the command (`context`, e.g.
// "bench gemm"), what was wrong, and the options that are allowed.
void parse_args(const std::string& context, const Args& args, const boost::program_options::options_description& options,
                const boost::program_options::positional_options_description* positional,
                boost::program_options::variables_map& vm);

// Command-line words split into [task] settings ("--task.k=v" or "--task.k" "v",
// for commands that evaluate a trained run on other data) and the rest.
struct TaskArgs {
  std::vector<std::string> task, rest;
};
TaskArgs split_task_args(const std::string& context, const Args& args);

// The device named by the parsed option --device (cpu, cuda, cuda:N); an
// unknown or invisible one is a UsageError naming `context`.
Device cli_device(const std::string& context, const boost::program_options::variables_map& vm);

}  // namespace mixlab::cli

#define MIXLAB_CLI_CONCAT_INNER(a, b) a##b
#define MIXLAB_CLI_CONCAT(a, b) MIXLAB_CLI_CONCAT_INNER(a, b)
#define MIXLAB_REGISTER_COMMAND(name, summary, run_fn)                            \
  static const bool MIXLAB_CLI_CONCAT(mixlab_command_registered_, name) =        \
      ::mixlab::cli::register_command(::mixlab::cli::Command{#name, summary, run_fn})
