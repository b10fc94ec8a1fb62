// symtrace check on the bundled examples (clean and broken), the Hugging Face checkpoints,
// --tp findings, --json and unreadable input.
#define SYMTRACE_CHECK_CMD_NO_REGISTER
#include "cli/cmd_check.cpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_writer.hpp>

namespace symtrace::cli {
namespace {

struct Result {
  int rc;
  std::string out;
};

Result check(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  int rc = 0;
  try {
    rc = run_check(args);
  } catch (...) {
    std::fflush(stdout);
    ::testing::internal::GetCapturedStdout();  // release the capture, keep the error
    throw;
  }
  std::fflush(stdout);
  return {rc, ::testing::internal::GetCapturedStdout()};
}

class CheckCommand : public ::testing::Test {
 protected:
  static std::filesystem::path dir(std::string_view name) {
    static const std::filesystem::path root = [] {
      auto r = std::filesystem::temp_directory_path() / "symtrace_check_cli";
      std::filesystem::remove_all(r);
      for (const auto& e : model::example_checkpoints()) model::write_example_checkpoint(e.name, r);
      return r;
    }();
    return root / name;
  }
};

TEST_F(CheckCommand, EveryCleanExampleAndTheHfCheckpointsPass) {
  for (const auto& e : model::example_checkpoints()) {
    if (!e.clean()) continue;
    Result r = check({dir(e.name).string()});
    EXPECT_EQ(r.rc, kExitClean) << e.name << "\n" << r.out;
    EXPECT_NE(r.out.find("0 errors, 0 warnings"), std::string::npos) << r.out;
  }
  for (const char* hf : {"hf-tiny-llama", "hf-tiny-llama-fp8"}) {
    Result r = check({std::string(SYMTRACE_REFDATA_DIR) + "/" + hf});
    EXPECT_EQ(r.rc, kExitClean) << hf << "\n" << r.out;
  }
}

TEST_F(CheckCommand, EveryBrokenExampleIsFlagged) {
  std::size_t broken = 0;
  for (const auto& e : model::example_checkpoints()) {
    if (e.clean()) continue;
    ++broken;
    Result r = check({dir(e.name).string()});
    EXPECT_EQ(r.rc, kExitFindings) << e.name << "\n" << r.out;
    EXPECT_NE(r.out.find("[" + e.expect_code + "]"), std::string::npos) << e.name << "\n" << r.out;
    EXPECT_NE(r.out.find(e.expect_argument), std::string::npos) << e.name << "\n" << r.out;
  }
  EXPECT_GE(broken, 6u);
}

TEST_F(CheckCommand, TensorParallelSplitsThatBreakTheBlockGrid) {
  Result r = check({dir("deepseek-v3-fp8-block").string(), "--tp", "4"});
  EXPECT_EQ(r.rc, kExitFindings);
  EXPECT_NE(r.out.find("error[tp-divisibility] model.layers.{L}.self_attn.o_proj"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in layers 0-1 (2 layers"), std::string::npos) << r.out;
  EXPECT_EQ(check({dir("deepseek-v3-fp8-block").string(), "--tp", "1"}).rc, kExitClean);
}

TEST_F(CheckCommand, JsonListsFindings) {
  Result r = check({dir("broken-nan-scale").string(), "--json"});
  EXPECT_EQ(r.rc, kExitFindings);
  auto v = boost::json::parse(r.out).as_object();
  EXPECT_EQ(v.at("model").as_string(), "LlamaForCausalLM");
  ASSERT_EQ(v.at("findings").as_array().size(), 1u);
  const auto& f = v.at("findings").as_array()[0].as_object();
  EXPECT_EQ(f.at("code").as_string(), "bad-scale");
  EXPECT_EQ(f.at("tensor").as_string(), "model.layers.0.self_attn.q_proj.weight_scale_inv");
  EXPECT_EQ(f.at("got").as_string(), "nan at [0, 1]");
}

TEST_F(CheckCommand, UnreadableInputAndUsageAreErrors) {
  EXPECT_THROW(check({"/nonexistent/checkpoint"}), diag::Error);
  EXPECT_THROW(check({}), diag::Error);
  EXPECT_THROW(check({dir("llama-fp8-block").string(), "--tp", "0"}), diag::Error);
  const auto bad = std::filesystem::temp_directory_path() / "symtrace_check_truncated";
  std::filesystem::create_directories(bad);
  std::filesystem::copy_file(dir("llama-fp8-block") / "config.json", bad / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream f(bad / "model.safetensors", std::ios::binary | std::ios::trunc);
    f << "\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":";  // header length beyond the file
  }
  try {
    check({bad.string()});
    FAIL() << "a truncated file must be an error";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "safetensors-header");
  }
}

}  // namespace
}  // namespace symtrace::cli
