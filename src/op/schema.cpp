// Schema::parse — a small recursive-descent parser over torch-style signatures. Every error
// names the 1-based column and shows the text with a caret under it.
#include <symtrace/op/schema.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::op {

namespace {
// Torch's fixed-length lists are short (int[2] stride, int[3] padding); the bound keeps a
// default like `int[2000000000] x=1` from expanding to gigabytes (found by fuzz_schema).
constexpr int kMaxFixedListLen = 64;
}  // namespace

std::string_view arg_type_name(ArgType t) {
  switch (t) {
    case ArgType::kTensor: return "Tensor";
    case ArgType::kTensorList: return "Tensor[]";
    case ArgType::kInt: return "int";
    case ArgType::kIntList: return "int[]";
    case ArgType::kFloat: return "float";
    case ArgType::kBool: return "bool";
    case ArgType::kStr: return "str";
    case ArgType::kScalarType: return "ScalarType";
    case ArgType::kScalar: return "Scalar";
  }
  return "?";
}

std::string type_str(ArgType t, bool optional, std::optional<int> fixed_len, bool symint) {
  std::string out;
  switch (t) {
    case ArgType::kInt: out = symint ? "SymInt" : "int"; break;
    case ArgType::kIntList:
      out = fmt::format("{}[{}]", symint ? "SymInt" : "int",
                        fixed_len ? std::to_string(*fixed_len) : "");
      break;
    default: out = std::string(arg_type_name(t));
  }
  return optional ? out + "?" : out;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Schema parse() {
    Schema out;
    out.text = std::string(s_);
    skip_ws();
    out.name = qualified_name();
    name_ = out.name;
    skip_ws();
    expect('(', "'(' after the op name");
    parse_args(out);
    skip_ws();
    if (!eat_str("->")) fail(i_, "expected '->' and the return types");
    skip_ws();
    parse_returns(out);
    skip_ws();
    if (i_ != s_.size()) fail(i_, fmt::format("unexpected '{}' after the return types", s_[i_]));
    return out;
  }

 private:
  [[noreturn]] void fail(std::size_t at, std::string what) const {
    diag::Diagnostic d;
    d.code = "schema";
    d.op = name_;
    d.message = fmt::format("column {}: {}", at + 1, what);
    d.notes = {std::string(s_), std::string(at, ' ') + "^"};
    throw diag::Error(std::move(d));
  }

  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool eat_str(std::string_view t) {
    if (s_.substr(i_, t.size()) != t) return false;
    i_ += t.size();
    return true;
  }
  void expect(char c, std::string_view what) {
    if (!eat(c)) fail(i_, fmt::format("expected {}", what));
  }
  static bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string_view ident(std::string_view what) {
    skip_ws();
    const std::size_t b = i_;
    if (i_ >= s_.size() || !ident_start(s_[i_])) fail(i_, fmt::format("expected {}", what));
    while (i_ < s_.size() && ident_char(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }
  // "add" or an overload "add.Scalar".
  std::string qualified_name() {
    std::string n(ident("an op name"));
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      n += ".";
      n += ident("an overload name after '.'");
    }
    return n;
  }

  struct Type {
    ArgType type;
    bool optional = false;
    bool symint = false;
    std::optional<int> fixed_len;
  };

  Type parse_type() {
    skip_ws();
    const std::size_t at = i_;
    const std::string_view base = ident("a type");
    Type t{ArgType::kTensor, false, false, std::nullopt};
    bool list_ok = false;
    if (base == "Tensor") {
      t.type = ArgType::kTensor, list_ok = true;
    } else if (base == "int" || base == "SymInt") {
      t.type = ArgType::kInt, t.symint = base == "SymInt", list_ok = true;
    } else if (base == "float") {
      t.type = ArgType::kFloat;
    } else if (base == "bool") {
      t.type = ArgType::kBool;
    } else if (base == "str") {
      t.type = ArgType::kStr;
    } else if (base == "ScalarType") {
      t.type = ArgType::kScalarType;
    } else if (base == "Scalar") {
      t.type = ArgType::kScalar;
    } else {
      fail(at, fmt::format("unknown type '{}' (types: Tensor, int, SymInt, float, bool, str, "
                           "ScalarType, Scalar, with [] for lists and ? for optional)",
                           base));
    }
    if (i_ < s_.size() && s_[i_] == '(') fail(i_, "alias annotations like Tensor(a!) are not supported");
    if (i_ < s_.size() && s_[i_] == '[') {
      if (!list_ok) fail(i_, fmt::format("'{}' has no list form", base));
      ++i_;
      skip_ws();
      if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        if (t.type == ArgType::kTensor) fail(i_, "Tensor[] takes no fixed length");
        const std::size_t b = i_;
        int n = 0;
        auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), n);
        i_ = static_cast<std::size_t>(p - s_.data());
        if (ec != std::errc() || n <= 0) fail(b, "list length must be a positive integer");
        if (n > kMaxFixedListLen)
          fail(b, fmt::format("list length {} is over the limit of {}", n, kMaxFixedListLen));
        t.fixed_len = n;
      }
      expect(']', "']' closing the list type");
      t.type = t.type == ArgType::kTensor ? ArgType::kTensorList : ArgType::kIntList;
    }
    if (i_ < s_.size() && s_[i_] == '?') {
      ++i_;
      t.optional = true;
    }
    return t;
  }

  void parse_args(Schema& out) {
    bool kwarg_only = false;
    bool seen_default = false;
    skip_ws();
    if (eat(')')) return;
    while (true) {
      skip_ws();
      const std::size_t at = i_;
      if (eat('*')) {
        if (kwarg_only) fail(at, "a second '*'");
        kwarg_only = true;
      } else {
        ArgSpec a;
        const Type t = parse_type();
        a.type = t.type, a.optional = t.optional, a.symint = t.symint, a.fixed_len = t.fixed_len;
        a.kwarg_only = kwarg_only;
        skip_ws();
        const std::size_t name_at = i_;
        a.name = std::string(ident("an argument name"));
        for (const auto& prev : out.args)
          if (prev.name == a.name) fail(name_at, fmt::format("duplicate argument '{}'", a.name));
        if (eat('=')) {
          a.default_value = parse_default(a);
          seen_default = true;
        } else if (seen_default && !kwarg_only) {
          fail(name_at, fmt::format("argument '{}' without a default follows one with a default",
                                    a.name));
        }
        out.args.push_back(std::move(a));
      }
      if (eat(')')) break;
      if (!eat(',')) fail(i_, "expected ',' or ')' after an argument");
    }
  }

  // The default's source text: up to the next ',' or ')' outside brackets and quotes.
  std::string_view default_token() {
    skip_ws();
    const std::size_t b = i_;
    int depth = 0;
    char quote = 0;
    for (; i_ < s_.size(); ++i_) {
      const char c = s_[i_];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        --depth;
      } else if ((c == ',' || c == ')') && depth == 0) {
        break;
      }
    }
    if (quote) fail(b, "unterminated string default");
    std::size_t e = i_;
    while (e > b && std::isspace(static_cast<unsigned char>(s_[e - 1]))) --e;
    if (e == b) fail(b, "expected a default value after '='");
    return s_.substr(b, e - b);
  }

  std::int64_t parse_int(std::string_view tok, std::size_t at) const {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || p != tok.data() + tok.size())
      fail(at, fmt::format("'{}' is not an integer", tok));
    return v;
  }

  double parse_float(std::string_view tok, std::size_t at) const {
    if (tok == "inf") return std::numeric_limits<double>::infinity();
    if (tok == "-inf") return -std::numeric_limits<double>::infinity();
    double v = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || p != tok.data() + tok.size())
      fail(at, fmt::format("'{}' is not a number", tok));
    return v;
  }

  Value parse_default(const ArgSpec& a) {
    const std::string_view tok = default_token();
    const std::size_t at = static_cast<std::size_t>(tok.data() - s_.data());
    if (tok == "None") {
      if (!a.optional) fail(at, fmt::format("default None for '{}', whose type {} is not optional",
                                            a.name, type_str(a.type, false, a.fixed_len, a.symint)));
      return None{};
    }
    const auto wrong = [&](std::string_view expected) {
      fail(at, fmt::format("default '{}' of '{}' is not {}", tok, a.name, expected));
    };
    switch (a.type) {
      case ArgType::kTensor:
      case ArgType::kTensorList: wrong("None"); break;
      case ArgType::kInt: return SymInt(parse_int(tok, at));
      case ArgType::kFloat: return parse_float(tok, at);
      case ArgType::kBool:
        if (tok == "True") return true;
        if (tok == "False") return false;
        wrong("True or False");
        break;
      case ArgType::kStr:
        if (tok.size() < 2 || (tok.front() != '\'' && tok.front() != '"') || tok.back() != tok.front())
          wrong("a quoted string");
        return std::string(tok.substr(1, tok.size() - 2));
      case ArgType::kScalarType: {
        std::string_view n = tok;
        if (n.starts_with("torch.")) n.remove_prefix(6);
        if (auto d = tensor::dtype_from_name(n)) return *d;
        wrong("a dtype name (f32, bf16, f8_e4m3fn, ...)");
        break;
      }
      case ArgType::kScalar:
        if (tok == "True") return true;
        if (tok == "False") return false;
        if (tok.find_first_of(".eEn") == std::string_view::npos) return SymInt(parse_int(tok, at));
        return parse_float(tok, at);
      case ArgType::kIntList: {
        std::vector<SymInt> v;
        if (tok.front() == '[') {
          if (tok.back() != ']') wrong("a list [a, b, ...]");
          std::string_view body = tok.substr(1, tok.size() - 2);
          std::size_t pos = 0;
          while (pos < body.size()) {
            std::size_t comma = body.find(',', pos);
            if (comma == std::string_view::npos) comma = body.size();
            std::string_view item = body.substr(pos, comma - pos);
            while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
              item.remove_prefix(1);
            while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
              item.remove_suffix(1);
            if (item.empty() && comma == body.size() && v.empty()) break;  // "[]"
            v.emplace_back(parse_int(item, at + 1 + static_cast<std::size_t>(item.data() - body.data())));
            pos = comma + 1;
          }
        } else {  // torch spelling `int[2] stride=1`: one value repeated
          v.assign(static_cast<std::size_t>(a.fixed_len.value_or(1)), SymInt(parse_int(tok, at)));
        }
        if (a.fixed_len && v.size() != static_cast<std::size_t>(*a.fixed_len))
          fail(at, fmt::format("default of '{}' has {} values, the type says {}", a.name, v.size(),
                               *a.fixed_len));
        return v;
      }
    }
    wrong("valid");
    return None{};
  }

  ReturnSpec parse_return() {
    const Type t = parse_type();
    ReturnSpec r;
    r.type = t.type, r.optional = t.optional, r.symint = t.symint, r.fixed_len = t.fixed_len;
    skip_ws();
    if (i_ < s_.size() && ident_start(s_[i_])) r.name = std::string(ident("a return name"));
    return r;
  }

  void parse_returns(Schema& out) {
    if (eat('(')) {
      if (eat(')')) return;  // "-> ()"
      while (true) {
        out.returns.push_back(parse_return());
        if (eat(')')) break;
        if (!eat(',')) fail(i_, "expected ',' or ')' in the return tuple");
      }
      return;
    }
    out.returns.push_back(parse_return());
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string name_;
};

}  // namespace

Schema Schema::parse(std::string_view text) { return Parser(text).parse(); }

std::optional<std::size_t> Schema::index_of(std::string_view arg) const {
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i].name == arg) return i;
  return std::nullopt;
}

std::string Schema::str() const {
  std::string out = name + "(";
  bool star = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const ArgSpec& a = args[i];
    if (i) out += ", ";
    if (a.kwarg_only && !star) {
      out += "*, ";
      star = true;
    }
    out += type_str(a.type, a.optional, a.fixed_len, a.symint) + " " + a.name;
    if (a.default_value) {
      out += '=';
      out += value_str(*a.default_value);
    }
  }
  out += ") -> ";
  const auto ret = [](const ReturnSpec& r) {
    std::string t = type_str(r.type, r.optional, r.fixed_len, r.symint);
    return r.name.empty() ? t : t + " " + r.name;
  };
  if (returns.size() == 1 && returns[0].name.empty()) return out + ret(returns[0]);
  out += "(";
  for (std::size_t i = 0; i < returns.size(); ++i) {
    if (i) out += ", ";
    out += ret(returns[i]);
  }
  return out + ")";
}

}  // namespace symtrace::op
