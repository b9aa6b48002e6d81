#include "cli/command.h"

#include <cstdio>
#include <cstdlib>

#include "autograd/error.h"

namespace mixlab::cli {

namespace po = boost::program_options;

namespace {
// Function-local so that registration from any translation unit's static
// initialisers finds it constructed.
std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> commands;
  return commands;
}
}  // namespace

const std::map<std::string, Command>& commands() { return registry(); }

bool register_command(Command command) {
  auto [it, inserted] = registry().emplace(command.name, command);
  if (!inserted) {
    std::fprintf(stderr, "mixlab: internal error: subcommand '%s' is registered twice\n", command.name.c_str());
    std::abort();
  }
  return true;
}

void parse_args(const std::string& context, const Args& args, const po::options_description& options,
                const po::positional_options_description* positional, po::variables_map& vm) {
  auto allowed = [&] {
    std::string names;
    for (const auto& option : options.options())
      names += (names.empty() ? "" : ", ") + option->canonical_display_name(po::command_line_style::allow_long);
    return "(allowed options: " + names + ")";
  };
  const std::string prefix = context.empty() ? "" : context + ": ";
  // Without a positional description Boost silently drops bare words; collect
  // them instead, so that `mixlab bench gemm extra` is an error, not ignored.
  po::options_description all;
  all.add(options);
  all.add_options()("mixlab-unexpected-argument", po::value<std::vector<std::string>>());
  po::positional_options_description catch_all;
  catch_all.add("mixlab-unexpected-argument", -1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional ? *positional : catch_all).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(prefix + e.what() + " " + allowed());
  }
  if (vm.count("mixlab-unexpected-argument"))
    throw UsageError(prefix + "unexpected argument '" +
                     vm["mixlab-unexpected-argument"].as<std::vector<std::string>>().front() + "' " + allowed());
}

TaskArgs split_task_args(const std::string& context, const Args& args) {
  TaskArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (!args[i].starts_with("--task.")) {
      out.rest.push_back(args[i]);
      continue;
    }
    out.task.push_back(args[i]);
    if (args[i].find('=') == std::string::npos) {
      if (i + 1 == args.size()) throw UsageError(context + ": " + args[i] + " needs a value");
      out.task.push_back(args[++i]);
    }
  }
  return out;
}

Device cli_device(const std::string& context, const po::variables_map& vm) {
  try {
    return parse_device(context + ": --device", vm["device"].as<std::string>());
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

std::string count_of(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace mixlab::cli
