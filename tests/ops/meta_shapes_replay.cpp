// The meta_shapes.json loader, the handler registry, and the test that replays every case.
#include "tests/ops/meta_shapes_replay.hpp"

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/ops.hpp>

namespace symtrace::replay {

namespace json = boost::json;
namespace v2 = boost::variant2;

std::optional<DType> dtype_from_torch(std::string_view name) {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  static const std::map<std::string_view, std::string_view> kAliases = {
      {"float32", "f32"},       {"float64", "f64"},       {"float16", "f16"},
      {"bfloat16", "bf16"},     {"int64", "i64"},         {"int32", "i32"},
      {"int16", "int16"},       {"int8", "i8"},           {"uint8", "u8"},
      {"bool", "bool"},         {"float8_e4m3fn", "f8_e4m3fn"}, {"float8_e5m2", "f8_e5m2"},
      {"float8_e4m3fnuz", "f8_e4m3fnuz"}, {"float8_e5m2fnuz", "f8_e5m2fnuz"},
      {"float8_e8m0fnu", "f8_e8m0fnu"}};
  const auto it = kAliases.find(name);
  if (auto d = tensor::dtype_from_name(it == kAliases.end() ? name : it->second)) return d;
  return tensor::dtype_from_name(name);
}

namespace {

std::vector<std::int64_t> ints_of(const json::value& v) {
  std::vector<std::int64_t> out;
  for (const json::value& x : v.as_array()) out.push_back(x.to_number<std::int64_t>());
  return out;
}

const json::value& arg(const MetaCase& c, std::string_view name) {
  const json::value* v = c.args.if_contains(name);
  if (!v || v->is_null())
    throw diag::InternalError(fmt::format("meta_shapes case {}: no argument '{}'", c.id, name));
  return *v;
}

}  // namespace

TensorMeta MetaCase::tensor(std::size_t i) const {
  const json::object& in = inputs.at(i).as_object();
  const std::string dtype_name(in.at("dtype").as_string());
  const auto dtype = dtype_from_torch(dtype_name);
  if (!dtype) diag::fail("dtype", fmt::format("case {}: symtrace has no dtype {}", id, dtype_name));
  TensorMeta m;
  for (std::int64_t s : ints_of(in.at("shape"))) m.sizes.emplace_back(s);
  for (std::int64_t s : ints_of(in.at("stride"))) m.strides.emplace_back(s);
  m.storage_offset = in.at("storage_offset").to_number<std::int64_t>();
  m.dtype = *dtype;
  m.device = tensor::Device::kMeta;
  return m;
}

op::Value MetaCase::scalar(std::size_t i) const {
  const json::object& in = inputs.at(i).as_object();
  const json::value& v = in.at("scalar");
  if (v.is_bool()) return v.as_bool();
  if (v.is_double()) return v.as_double();
  return SymInt(v.to_number<std::int64_t>());
}

bool MetaCase::has_arg(std::string_view name) const {
  const json::value* v = args.if_contains(name);
  return v && !v->is_null();
}
std::int64_t MetaCase::arg_int(std::string_view name) const { return arg(*this, name).to_number<std::int64_t>(); }
std::optional<std::int64_t> MetaCase::arg_opt_int(std::string_view name) const {
  if (!has_arg(name)) return std::nullopt;
  return arg_int(name);
}
bool MetaCase::arg_is_list(std::string_view name) const { return has_arg(name) && arg(*this, name).is_array(); }
std::vector<SymInt> MetaCase::arg_ints(std::string_view name) const {
  const json::value& v = arg(*this, name);
  if (!v.is_array()) return {SymInt(v.to_number<std::int64_t>())};
  std::vector<SymInt> out;
  for (std::int64_t x : ints_of(v)) out.emplace_back(x);
  return out;
}
double MetaCase::arg_f64(std::string_view name) const { return arg(*this, name).to_number<double>(); }

std::vector<std::int64_t> MetaCase::call_ints() const {
  std::vector<std::int64_t> out;
  const std::string s = call.substr(0, call.find('#'));  // not the comment
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool neg = s[i] == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]));
    if (!neg && !std::isdigit(static_cast<unsigned char>(s[i]))) continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_')) {
      while (i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]))) ++i;  // part of a name
      continue;
    }
    std::size_t j = i + (neg ? 1 : 0);
    std::int64_t v = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) v = v * 10 + (s[j++] - '0');
    out.push_back(neg ? -v : v);
    i = j;
  }
  return out;
}

std::vector<MetaCase> load_meta_cases() {
  const std::string path = std::string(SYMTRACE_REFDATA_DIR) + "/meta_shapes.json";
  std::ifstream f(path);
  if (!f) throw diag::InternalError("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  const json::value root = json::parse(ss.str());
  std::vector<MetaCase> cases;
  for (const json::value& v : root.at("cases").as_array()) {
    const json::object& o = v.as_object();
    MetaCase c;
    c.id = static_cast<int>(o.at("id").to_number<std::int64_t>());
    c.op = std::string(o.at("op").as_string());
    c.call = std::string(o.at("call").as_string());
    c.inputs = o.at("inputs").as_array();
    if (const json::value* a = o.if_contains("args")) c.args = a->as_object();
    if (const json::value* e = o.if_contains("error")) c.error = std::string(e->at("message").as_string());
    if (const json::value* outs = o.if_contains("outputs"))
      for (const json::value& ov : outs->as_array()) {
        const json::object& m = ov.as_object();
        c.outputs.push_back({ints_of(m.at("shape")), ints_of(m.at("stride")),
                             m.at("storage_offset").to_number<std::int64_t>(), std::string(m.at("dtype").as_string())});
      }
    cases.push_back(std::move(c));
  }
  return cases;
}

namespace {
std::map<std::string, Handler, std::less<>>& handlers() {
  static std::map<std::string, Handler, std::less<>> h;  // filled during static initialisation
  return h;
}
}  // namespace

void add_handler(std::string op, Handler h) {
  if (!handlers().emplace(op, std::move(h)).second)
    throw diag::InternalError("two meta_shapes replay handlers for op '" + op + "'");
}

const Handler* find_handler(std::string_view op) {
  const auto it = handlers().find(op);
  return it == handlers().end() ? nullptr : &it->second;
}

Registrar::Registrar(std::initializer_list<std::string_view> ops, const Handler& h) {
  for (std::string_view op : ops) add_handler(std::string(op), h);
}

std::vector<TensorMeta> fake(std::string_view op, std::vector<op::Value> positional, sym::ShapeEnv& env,
                             const std::vector<std::pair<std::string, op::Value>>& named) {
  const op::Outputs outs = op::bind_and_fake(ops::registry().get(op), std::move(positional), env, named);
  std::vector<TensorMeta> metas;
  for (const op::Value& v : outs) {
    if (auto* m = v2::get_if<TensorMeta>(&v)) metas.push_back(*m);
    if (auto* l = v2::get_if<std::vector<TensorMeta>>(&v)) metas.insert(metas.end(), l->begin(), l->end());
  }
  return metas;
}

namespace {

std::string expected_str(const ExpectedMeta& e) {
  return fmt::format("{}[{}] strides [{}] offset {}", e.dtype, fmt::join(e.shape, ", "), fmt::join(e.stride, ", "),
                     e.storage_offset);
}

// Empty when `got` equals the case's outputs exactly.
std::string compare(const MetaCase& c, const std::vector<TensorMeta>& got) {
  if (got.size() != c.outputs.size())
    return fmt::format("{} outputs, PyTorch has {}", got.size(), c.outputs.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const ExpectedMeta& e = c.outputs[i];
    const TensorMeta& m = got[i];
    bool same = m.dim() == static_cast<std::int64_t>(e.shape.size()) && dtype_from_torch(e.dtype) == m.dtype &&
                m.storage_offset.maybe_value() == e.storage_offset;
    for (std::size_t d = 0; same && d < e.shape.size(); ++d)
      same = m.sizes[d].maybe_value() == e.shape[d] && m.strides[d].maybe_value() == e.stride[d];
    if (!same)
      return fmt::format("output {}: ours {} offset {}, PyTorch {}", i, m.str(), m.storage_offset.str(), expected_str(e));
  }
  return {};
}

// Each was probed on PyTorch 2.11: the meta call succeeds, eager raises.
constexpr MetaLooseness kMetaLooseness[] = {
    {171, "torch.softmax's meta kernel ignores dim (3, -4 and 5 on a 3-D tensor all return x's "
          "shape on meta) while eager raises IndexError: Dimension out of range"},
};

}  // namespace

const MetaLooseness* meta_looseness(int case_id) {
  for (const MetaLooseness& m : kMetaLooseness)
    if (m.id == case_id) return &m;
  return nullptr;
}

namespace {

TEST(RefdataMetaShapes, EveryCaseReplaysExactly) {
  const std::vector<MetaCase> cases = load_meta_cases();
  ASSERT_EQ(cases.size(), 313u);
  std::size_t passed = 0, errors = 0, deviations = 0;
  std::map<std::string, int> missing;
  for (const MetaCase& c : cases) {
    SCOPED_TRACE(fmt::format("case {} ({}): {}", c.id, c.op, c.call));
    errors += c.error.has_value();
    const Handler* h = find_handler(c.op);
    if (!h) {
      ++missing[c.op];
      continue;
    }
    sym::ShapeEnv env;
    std::vector<TensorMeta> got;
    std::string raised;
    try {
      got = (*h)(c, env);
    } catch (const diag::Error& e) {
      raised = e.what();
      // A missing op is not the error PyTorch raised: it must not pass an error case.
      if (e.diagnostic().code == "unknown-op") {
        ADD_FAILURE() << raised;
        continue;
      }
    }
    if (c.error) {
      EXPECT_FALSE(raised.empty()) << "PyTorch raised \"" << *c.error << "\"; ours returned "
                                   << (got.empty() ? std::string("nothing") : got[0].str());
      passed += !raised.empty();
      continue;
    }
    if (const MetaLooseness* m = meta_looseness(c.id)) {
      EXPECT_FALSE(raised.empty()) << "expected an error like eager PyTorch: " << m->why;
      ++deviations;
      continue;
    }
    if (!raised.empty()) {
      ADD_FAILURE() << "ours raised, PyTorch returned " << expected_str(c.outputs.at(0)) << ":\n" << raised;
      continue;
    }
    const std::string diff = compare(c, got);
    EXPECT_TRUE(diff.empty()) << diff;
    passed += diff.empty();
  }
  for (const auto& [op, n] : missing) ADD_FAILURE() << n << " case(s) of op '" << op << "' have no replay handler";
  EXPECT_EQ(errors, 49u);
  RecordProperty("passed", static_cast<int>(passed));
  EXPECT_EQ(passed + deviations, cases.size());
  std::printf("[ refdata ] meta_shapes.json: %zu of %zu cases replay exactly (%zu error cases); %zu raise "
              "where PyTorch's meta kernel is looser than eager\n",
              passed, cases.size(), errors, deviations);
}

TEST(RefdataMetaShapes, CallIntsReadTheCallText) {
  MetaCase c;
  c.call = "x.unflatten(1, (5, -1))  # 2 comments";
  EXPECT_EQ(c.call_ints(), (std::vector<std::int64_t>{1, 5, -1}));
  c.call = "a[3] f16 + b 0-d f32";
  EXPECT_EQ(c.call_ints(), (std::vector<std::int64_t>{3, 0}));
}

}  // namespace
}  // namespace symtrace::replay
