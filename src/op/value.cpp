#include <symtrace/op/value.hpp>

#include <fmt/format.h>

namespace symtrace::op {
namespace {

std::string tensor_str(const Tensor& t) {
  if (!t.defined()) return "Tensor(undefined)";
  std::string out = fmt::format("{}[", tensor::name(t.dtype()));
  for (std::size_t i = 0; i < t.sizes().size(); ++i)
    out += fmt::format("{}{}", i ? ", " : "", t.sizes()[i]);
  return out + "]";
}

template <class T, class F>
std::string list_str(const std::vector<T>& v, F&& item) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += item(v[i]);
  }
  return out + "]";
}

}  // namespace

std::string value_str(const Value& v) {
  struct Visitor {
    std::string operator()(None) const { return "None"; }
    std::string operator()(const TensorMeta& m) const {
      return fmt::format("{}{}", tensor::name(m.dtype), m.shape_str());
    }
    std::string operator()(const Tensor& t) const { return tensor_str(t); }
    std::string operator()(const std::vector<TensorMeta>& v) const {
      return list_str(v, [&](const TensorMeta& m) { return (*this)(m); });
    }
    std::string operator()(const std::vector<Tensor>& v) const { return list_str(v, tensor_str); }
    std::string operator()(const SymInt& i) const { return i.str(); }
    std::string operator()(const std::vector<SymInt>& v) const {
      return list_str(v, [](const SymInt& i) { return i.str(); });
    }
    // Shortest round-trip form, with a point so a float never reads as an int.
    std::string operator()(double d) const {
      std::string s = fmt::format("{}", d);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    // Quoted with whichever quote the text lacks, so a schema default re-parses.
    std::string operator()(const std::string& s) const {
      return s.find('\'') == std::string::npos ? fmt::format("'{}'", s) : fmt::format("\"{}\"", s);
    }
    std::string operator()(DType d) const { return std::string(tensor::name(d)); }
  };
  return boost::variant2::visit(Visitor{}, v);
}

}  // namespace symtrace::op
