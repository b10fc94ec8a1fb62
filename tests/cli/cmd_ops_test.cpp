// `symtrace ops`: the listing, one op's detail, --json, and bad input.
#define SYMTRACE_OPS_CMD_NO_REGISTER
#include "cli/cmd_ops.cpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace symtrace::cli {
namespace {

int run_ops(std::vector<std::string> args, std::string& out, std::string& err) {
  return ops_cmd::run(args, out, err);
}

TEST(CmdOps, ListsEveryOpWithSchemaAndKernels) {
  std::string out, err;
  ASSERT_EQ(run_ops({}, out, err), kExitClean) << err;
  EXPECT_NE(out.find("view(Tensor self, SymInt[] shape) -> Tensor\n"), std::string::npos);
  EXPECT_NE(out.find("kernels: add.avx512 [avx512], add.scalar [scalar], reference"), std::string::npos);
  EXPECT_NE(out.find(fmt::format("{} ops\n", ops::registry().all().size())), std::string::npos);
}

TEST(CmdOps, ShowsOneOpWithEachKernelsRule) {
  std::string out, err;
  ASSERT_EQ(run_ops({"silu_and_mul"}, out, err), kExitClean) << err;
  EXPECT_NE(out.find("C2: x.size(-1) is even"), std::string::npos) << out;
  EXPECT_NE(out.find("silu_and_mul.avx512"), std::string::npos);
  EXPECT_NE(out.find("when: x f32 or bf16, contiguous"), std::string::npos);
  EXPECT_LT(out.find("silu_and_mul.avx512"), out.find("reference"));  // the order they are tried
}

TEST(CmdOps, JsonHasTheSameFacts) {
  std::string out, err;
  ASSERT_EQ(run_ops({"--json"}, out, err), kExitClean);
  const auto all = boost::json::parse(out).as_array();
  EXPECT_EQ(all.size(), ops::registry().all().size());
  out.clear();
  ASSERT_EQ(run_ops({"add", "--json"}, out, err), kExitClean);
  const auto add = boost::json::parse(out).as_object();
  EXPECT_EQ(add.at("schema").as_string(), "add(Tensor self, Tensor other) -> Tensor");
  EXPECT_EQ(add.at("kernels").as_array().back().at("name").as_string(), "reference");
  EXPECT_EQ(add.at("constraints").as_array().size(), 2u);
}

TEST(CmdOps, UnknownOpSuggestsNearNames) {
  std::string out, err;
  EXPECT_EQ(run_ops({"viwe"}, out, err), kExitBadInput);
  EXPECT_NE(err.find("error[unknown-op]: no op named 'viwe' (did you mean view"), std::string::npos) << err;
  err.clear();
  EXPECT_EQ(run_ops({"--bogus"}, out, err), kExitBadInput);
  EXPECT_EQ(run_ops({"a", "b"}, out, err), kExitBadInput);
}

}  // namespace
}  // namespace symtrace::cli
