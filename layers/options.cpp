#include "layers/options.h"

#include <charconv>

#include "autograd/error.h"

namespace mixlab {

po::variables_map parse_options(const po::options_description& desc, const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  for (const std::string& a : args) argv.push_back(a.rfind("--", 0) == 0 ? a : "--" + a);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(e.what());
  }
  return vm;
}

po::typed_value<double>* real_value(double default_value) {
  char buf[32];
  const std::string text(buf, std::to_chars(buf, buf + sizeof buf, default_value).ptr);
  return po::value<double>()->default_value(default_value, text);
}

template <typename T>
T option(const po::variables_map& vm, const std::string& key) {
  auto it = vm.find(key);
  MIXLAB_CHECK(it != vm.end() && !it->second.empty(), "option '", key, "' is not set (is it declared with a default?)");
  try {
    return it->second.as<T>();
  } catch (const boost::bad_any_cast&) {
    throw Error(detail::concat("option '", key, "' has a different type than the one asked for"));
  }
}

template int option<int>(const po::variables_map&, const std::string&);
template int64_t option<int64_t>(const po::variables_map&, const std::string&);
template double option<double>(const po::variables_map&, const std::string&);
template bool option<bool>(const po::variables_map&, const std::string&);
template std::string option<std::string>(const po::variables_map&, const std::string&);

}  // namespace mixlab
