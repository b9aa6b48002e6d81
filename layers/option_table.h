#pragma once
// A component's options as one declarative table. Each row names a key, the
// member of the options struct it fills, its help text and the check of its
// value; the defaults are the struct's member initialisers, written once.
// The table alone drives everything that touches these options: declaring
// them (Boost.Program_options, so `--help`, `mixlab list`, INI files and
// config.ini) under any section name — two layers of one mixer can therefore
// be configured apart — reading a parsed config back into the struct with
// every value checked, and listing the finite choices of each key (which the
// mixer conformance suite uses to check that its variants reach them all).
//
//   struct ConvOptions { int64_t width = 3; std::string form = "fused"; };
//   const OptionTable<ConvOptions> table = OptionTable<ConvOptions>()
//       .add("width", &ConvOptions::width, "convolution width", at_least(1))
//       .add("form", &ConvOptions::form, "fused | plain", one_of({"fused", "plain"}));
//   table.declare(desc, "conv");                 // --conv.width (default 3), --conv.form
//   ConvOptions o = table.read(vm, "conv");      // throws "conv.width = 0 is not allowed (allowed: >= 1)"
#include <functional>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "layers/options.h"

namespace mixlab {

// What values of type V a key accepts: `allowed` says it in words for the
// error message ("> 0", "chunked, recurrent"); `choices` lists the values
// when they are a finite set (as text), empty otherwise.
template <typename V>
struct ValueCheck {
  std::string allowed;
  std::function<bool(const V&)> accepts;
  std::vector<std::string> choices;
};

ValueCheck<int64_t> at_least(int64_t low);                  // >= low
ValueCheck<double> at_least(double low);                    // >= low
ValueCheck<double> greater_than(double low);                // > low
ValueCheck<double> in_range(double low, double high);       // low <= v <= high
ValueCheck<double> in_half_open(double low, double high);   // low <= v < high
ValueCheck<std::string> one_of(std::vector<std::string> values);

// The names of an enum's values, for a key whose member is that enum:
// named<Form>({{"chunked", Form::Chunked}, {"recurrent", Form::Recurrent}}).
template <typename E>
struct EnumNames {
  std::vector<std::pair<std::string, E>> names;
};
template <typename E>
EnumNames<E> named(std::vector<std::pair<std::string, E>> names) {
  return {std::move(names)};
}

namespace option_text {
std::string of(int64_t v);
std::string of(double v);
std::string of(bool v);
std::string of(const std::string& v);
}  // namespace option_text

// One key of a table, type-erased over the options struct's field type.
template <typename Options>
struct OptionField {
  std::string key, help;
  std::vector<std::string> choices;  // finite allowed values as text (bool: false, true); empty = open
  std::function<void(po::options_description&, const std::string& section, const Options& defaults)> declare;
  std::function<void(const po::variables_map&, const std::string& section, Options&)> read;  // checks the value
};

template <typename Options>
class OptionTable {
 public:
  // One row: `key` (without section) fills `member`; `check` limits its values.
  template <typename V>
  OptionTable&& add(std::string key, V Options::*member, std::string help, ValueCheck<V> check = {}) && {
    OptionField<Options> f;
    f.key = key;
    f.help = help;
    f.choices = check.choices;
    if constexpr (std::is_same_v<V, bool>) f.choices = {"false", "true"};
    f.declare = [key, member, help](po::options_description& desc, const std::string& section, const Options& d) {
      const std::string name = section + "." + key;
      desc.add_options()(name.c_str(), po::value<V>()->default_value(d.*member, option_text::of(d.*member)),
                         help.c_str());
    };
    f.read = [key, member, check](const po::variables_map& vm, const std::string& section, Options& o) {
      const std::string name = section + "." + key;
      const V value = option<V>(vm, name);
      if (check.accepts && !check.accepts(value))
        throw Error(detail::concat(name, " = ", quoted(value), " is not allowed (allowed: ", check.allowed, ")"));
      o.*member = value;
    };
    fields_.push_back(std::move(f));
    return std::move(*this);
  }

  // One row whose member is an enum, written in configs by the names in `names`.
  template <typename E>
  OptionTable&& add(std::string key, E Options::*member, std::string help, EnumNames<E> names) && {
    OptionField<Options> f;
    f.key = key;
    f.help = help;
    std::string allowed;
    for (const auto& [name, value] : names.names) {
      f.choices.push_back(name);
      allowed += (allowed.empty() ? "" : ", ") + name;
    }
    auto name_of = [names](E value) {
      for (const auto& [name, v] : names.names)
        if (v == value) return name;
      throw Error("option table: an enum default has no name");  // a table written wrongly
    };
    f.declare = [key, member, help, name_of](po::options_description& desc, const std::string& section,
                                             const Options& d) {
      const std::string name = section + "." + key;
      desc.add_options()(name.c_str(), po::value<std::string>()->default_value(name_of(d.*member)), help.c_str());
    };
    f.read = [key, member, names, allowed](const po::variables_map& vm, const std::string& section, Options& o) {
      const std::string name = section + "." + key;
      const std::string value = option<std::string>(vm, name);
      for (const auto& [n, v] : names.names)
        if (n == value) {
          o.*member = v;
          return;
        }
      throw Error(detail::concat(name, " = '", value, "' is not allowed (allowed: ", allowed, ")"));
    };
    fields_.push_back(std::move(f));
    return std::move(*this);
  }

  const std::vector<OptionField<Options>>& fields() const { return fields_; }

  // "<section>.<key>" for every row, with the defaults of `defaults`.
  void declare(po::options_description& desc, const std::string& section, const Options& defaults = {}) const {
    for (const auto& f : fields_) f.declare(desc, section, defaults);
  }

  // The struct filled from `vm`'s "<section>.<key>" values; the first value
  // a check refuses throws one line naming the key, the value and what is allowed.
  Options read(const po::variables_map& vm, const std::string& section) const {
    Options o;
    for (const auto& f : fields_) f.read(vm, section, o);
    return o;
  }

  // The defaults changed by `settings` ("key=value", as a config writes them
  // in `section`), each parsed and checked as a config value would be.
  Options with_settings(const std::string& section, const std::vector<std::string>& settings) const {
    po::options_description desc;
    declare(desc, section);
    std::vector<std::string> args;
    for (const std::string& s : settings) args.push_back(section + "." + s);
    return read(parse_options(desc, args), section);
  }

 private:
  template <typename V>
  static std::string quoted(const V& v) {
    if constexpr (std::is_same_v<V, std::string>)
      return "'" + v + "'";
    else
      return option_text::of(v);
  }

  std::vector<OptionField<Options>> fields_;
};

}  // namespace mixlab
