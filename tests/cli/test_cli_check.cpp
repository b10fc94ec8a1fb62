// symtrace check on the bundled examples (clean and broken), the Hugging Face checkpoints,
// --tp findings, --json, the kernels of the traced graph, --dtype, no progress text when
// stderr is not a terminal, and unreadable input.
#define SYMTRACE_CHECK_CMD_NO_REGISTER
#include <unistd.h>  // getpid: ctest runs tests of one binary in parallel processes

#include "cli/cmd_check.cpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_writer.hpp>

namespace symtrace::cli {
namespace {

struct Result {
  int rc;
  std::string out, err;
};

// Runs the command with stdout and stderr captured (so stderr is a file, not a terminal).
Result check(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = 0;
  try {
    rc = run_check(args);
  } catch (...) {
    std::fflush(stdout);
    std::fflush(stderr);
    ::testing::internal::GetCapturedStdout();  // release the captures, keep the error
    ::testing::internal::GetCapturedStderr();
    throw;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::string out = ::testing::internal::GetCapturedStdout();
  return {rc, std::move(out), ::testing::internal::GetCapturedStderr()};
}

class CheckCommand : public ::testing::Test {
 protected:
  static std::filesystem::path dir(std::string_view name) {
    static const std::filesystem::path root = [] {
      auto r = std::filesystem::temp_directory_path() / ("symtrace_check_cli-" + std::to_string(::getpid()));
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
    EXPECT_NE(r.out.find("0 errors, 0 warnings"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("kernels (bf16 compute, B and S symbolic"), std::string::npos) << r.out;
  }
}

TEST_F(CheckCommand, KernelsAreListedOncePerLayerPatternWithTheirRule) {
  Result r = check({dir("llama-fp8-block").string()});
  EXPECT_EQ(r.rc, kExitClean) << r.out;
  // Both layers' q_proj run the same block-fp8 kernel: one line for layers 0-1, with its rule.
  const auto at = r.out.find("layers 0-1  self_attn.q_proj ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_NE(line.find("block_fp8_gemm."), std::string::npos) << line;
  EXPECT_NE(line.find("K % 128 == 0"), std::string::npos) << line;
  EXPECT_EQ(r.out.find("layer 1     self_attn.q_proj"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lm_head"), std::string::npos) << r.out;

  // Experts fold too: one line per expert linear of a layer, not one per expert.
  Result moe = check({dir("qwen3-moe-w8a8-int8").string()});
  EXPECT_NE(moe.out.find("layer 0, experts 0-7  mlp.experts.{E}.gate_proj"), std::string::npos) << moe.out;
  EXPECT_EQ(moe.out.find("mlp.experts.3.gate_proj"), std::string::npos) << moe.out;

  // K = 320 is not a multiple of 128: the ragged example's q_proj gets another kernel.
  Result ragged = check({dir("llama-fp8-block-ragged").string()});
  EXPECT_EQ(ragged.rc, kExitClean) << ragged.out;
  const auto rat = ragged.out.find("layers 0-1  self_attn.q_proj ");
  ASSERT_NE(rat, std::string::npos) << ragged.out;
  EXPECT_NE(ragged.out.substr(rat, ragged.out.find('\n', rat) - rat), line) << ragged.out;
}

TEST_F(CheckCommand, JsonListsKernelsPerNode) {
  Result r = check({std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama-fp8", "--json"});
  EXPECT_EQ(r.rc, kExitClean) << r.out;
  auto v = boost::json::parse(r.out).as_object();
  EXPECT_EQ(v.at("compute_dtype").as_string(), "bf16");
  const auto& ks = v.at("kernels").as_array();
  ASSERT_GT(ks.size(), 10u);
  int q_proj = 0;
  for (const auto& k : ks) {
    const auto& o = k.as_object();
    EXPECT_FALSE(o.at("kernel").as_string().empty());
    EXPECT_FALSE(o.at("reason").as_string().empty());
    const std::string node(o.at("node").as_string());
    if (node.ends_with(".self_attn.q_proj") && o.at("op").as_string() == "block_fp8_gemm") {
      ++q_proj;
      EXPECT_TRUE(std::string(o.at("kernel").as_string()).starts_with("block_fp8_gemm.")) << node;
    }
  }
  EXPECT_EQ(q_proj, 2);  // one entry per node: both layers
}

TEST_F(CheckCommand, DtypePicksTheComputeDtype) {
  const std::string fp8 = std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama-fp8";
  Result r = check({fp8, "--dtype", "fp16", "--json"});
  auto v = boost::json::parse(r.out).as_object();
  EXPECT_EQ(v.at("compute_dtype").as_string(), "f16");
  EXPECT_EQ(v.at("errors").as_int64(), 0) << r.out;  // bf16 weights convert to f16 at load
  for (const auto& k : v.at("kernels").as_array()) {
    const auto& o = k.as_object();
    if (o.at("node").as_string() == "lm_head" && o.at("op").as_string() == "linear") {
      EXPECT_NE(std::string(o.at("kernel").as_string()), "linear.avx512_bf16");  // bf16 only
    }
  }
  EXPECT_THROW(check({fp8, "--dtype", "fp8"}), diag::Error);
}

TEST_F(CheckCommand, NoProgressTextWhenStderrIsNotATerminal) {
  for (const char* name : {"llama-fp8-block", "broken-missing-tensor"}) {
    Result r = check({dir(name).string()});
    EXPECT_EQ(r.err, "") << name;
  }
  Result j = check({std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama", "--json"});
  EXPECT_EQ(j.err, "");
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
  // 2 heads do not split over 4 ranks: no per-rank graph, a note says why.
  auto v = boost::json::parse(check({dir("deepseek-v3-fp8-block").string(), "--tp", "4", "--json"}).out).as_object();
  EXPECT_EQ(v.at("graph").as_string(), "model");
  bool note = false;
  for (const auto& f : v.at("findings").as_array())
    note = note || f.as_object().at("code").as_string() == "tp-graph";
  EXPECT_TRUE(note);
}

TEST_F(CheckCommand, TensorParallelRankGraphIsTracedAndEachShardBound) {
  const std::string hf = std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama";
  Result r = check({hf, "--tp", "2"});
  EXPECT_EQ(r.rc, kExitClean) << r.out;  // shards of bf16 weights bind to the rank's graph
  EXPECT_NE(r.out.find("one rank of tp=2"), std::string::npos) << r.out;
  auto v = boost::json::parse(check({hf, "--tp", "2", "--json"}).out).as_object();
  EXPECT_EQ(v.at("graph").as_string(), "rank");
  EXPECT_EQ(v.at("errors").as_int64(), 0);

  // fp8 blocks: k_proj's N = 2 kv heads * 64 splits into 64 rows per rank, half a 128-row
  // block: the spec's tp-divisibility, reported once (the shard is not bound again).
  Result fp8 = check({hf + "-fp8", "--tp", "2"});
  EXPECT_EQ(fp8.rc, kExitFindings) << fp8.out;
  EXPECT_NE(fp8.out.find("error[tp-divisibility] model.layers.{L}.self_attn.k_proj"), std::string::npos)
      << fp8.out;
  EXPECT_EQ(fp8.out.find("error[shape]"), std::string::npos) << fp8.out;
  EXPECT_NE(fp8.out.find("one rank of tp=2"), std::string::npos) << fp8.out;
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
  const auto bad = std::filesystem::temp_directory_path() / ("symtrace_check_truncated-" + std::to_string(::getpid()));
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
