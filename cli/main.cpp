// The `mixlab` executable: global options, then one subcommand from the
// registry (cli/command.h). Every bad command line ends here as one line on
// stderr and exit code 2, before any work starts.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "autograd/error.h"
#include "autograd/error_text.h"
#include "cli/build_info.h"
#include "cli/command.h"
#include "distributed/communicator.h"

namespace po = boost::program_options;
using namespace mixlab::cli;

namespace {

void print_help(std::ostream& out, const po::options_description& global) {
  out << version_line() << " - a C++20/CUDA autograd framework for attention and its alternatives\n\n"
      << "usage: mixlab <subcommand> [options]   (mixlab <subcommand> --help for its options)\n"
      << "       mixlab --help | --version\n\n"
      << "subcommands:\n";
  size_t width = 0;
  for (const auto& [name, command] : commands()) width = std::max(width, name.size());
  for (const auto& [name, command] : commands())
    out << "  " << name << std::string(width - name.size() + 3, ' ') << command.summary << "\n";
  out << "\n" << global;
}

int run(int argc, char** argv) {
  // Options before the first bare word belong to mixlab itself; the bare word
  // names the subcommand, which gets everything after it.
  Args global_args, command_args;
  std::string command_name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (command_name.empty() && (arg.empty() || arg[0] != '-')) {
      command_name = arg;
      command_args.assign(argv + i + 1, argv + argc);
      break;
    }
    global_args.push_back(arg);
  }

  po::options_description global("options");
  global.add_options()("help,h", "print this help and exit")(
      "version", "print the version and build facts (CUDA devices, GEMM backend, threads) and exit");
  po::variables_map vm;
  parse_args("", global_args, global, nullptr, vm);
  if (vm.count("help")) {
    print_help(std::cout, global);
    return 0;
  }
  if (vm.count("version")) {
    std::cout << build_info();
    return 0;
  }
  if (command_name.empty())
    throw UsageError("missing subcommand (allowed: " + join_keys(commands()) + "; see mixlab --help)");
  auto it = commands().find(command_name);
  if (it == commands().end())
    throw UsageError("unknown subcommand '" + command_name + "' (allowed: " + join_keys(commands()) +
                     "; see mixlab --help)");
  return it->second.run(command_args);
}

}  // namespace

// The process's rank when it is one of several (mpirun/srun), else -1.
int rank_of_several() {
  try {
    mixlab::Communicator& w = mixlab::world();
    return w.size() > 1 ? w.rank() : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

// One line on stderr. Among several ranks, an error all of them meet (a bad
// config, a CollectiveError) is printed by rank 0 alone; any other error
// names its rank and ends the whole job, whose other ranks would otherwise
// wait for this one forever.
int fail(const char* prefix, const std::exception& e, int code, bool collective) {
  const int rank = rank_of_several();
  if (rank < 0) {
    std::fprintf(stderr, "mixlab: %s%s\n", prefix, mixlab::one_error_line(e.what()).c_str());
    return code;
  }
  if (collective) {
    if (rank == 0) std::fprintf(stderr, "mixlab: %s%s\n", prefix, mixlab::one_error_line(e.what()).c_str());
    return code;
  }
  std::fprintf(stderr, "mixlab: rank %d: %s%s\n", rank, prefix, mixlab::one_error_line(e.what()).c_str());
  std::fflush(stderr);
  mixlab::world().abort(code);
  return code;  // not reached: abort ends the process
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    return fail("", e, kUsageExitCode, true);
  } catch (const mixlab::CollectiveError& e) {
    return fail("error: ", e, 1, true);
  } catch (const mixlab::Error& e) {
    return fail("error: ", e, 1, false);
  } catch (const std::exception& e) {
    return fail("unexpected error: ", e, 1, false);
  }
}
