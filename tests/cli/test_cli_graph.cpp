// symtrace graph: DOT and JSON of the traced checkpoint graph, findings highlighted on their
// nodes, no progress text when stderr is not a terminal, bad input.
#define SYMTRACE_GRAPH_CMD_NO_REGISTER
#include <unistd.h>  // getpid: ctest runs tests of one binary in parallel processes

#include "cli/cmd_graph.cpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_writer.hpp>

namespace symtrace::cli {
namespace {

struct Result {
  int rc;
  std::string out, err;
};

Result graph_cmd(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = 0;
  try {
    rc = run_graph_command(args);
  } catch (...) {
    std::fflush(stdout);
    std::fflush(stderr);
    ::testing::internal::GetCapturedStdout();
    ::testing::internal::GetCapturedStderr();
    throw;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::string out = ::testing::internal::GetCapturedStdout();
  return {rc, std::move(out), ::testing::internal::GetCapturedStderr()};
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class GraphCommand : public ::testing::Test {
 protected:
  static std::filesystem::path root() {
    static const std::filesystem::path r = [] {
      auto p = std::filesystem::temp_directory_path() / ("symtrace_graph_cli-" + std::to_string(::getpid()));
      std::filesystem::remove_all(p);
      std::filesystem::create_directories(p);
      return p;
    }();
    return r;
  }
  static std::filesystem::path example(std::string_view name) {
    if (!std::filesystem::exists(root() / name)) model::write_example_checkpoint(name, root());
    return root() / name;
  }
};

TEST_F(GraphCommand, WritesDotAndJsonOfACleanCheckpoint) {
  const auto dot = root() / "hf.dot", json = root() / "hf.json";
  Result r = graph_cmd({std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama-fp8", "--dot",
                        dot.string(), "--json", json.string()});
  EXPECT_EQ(r.rc, kExitClean) << r.out;
  EXPECT_NE(r.out.find("0 errors, 0 warnings"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // not a terminal: no progress

  const std::string d = slurp(dot);
  EXPECT_TRUE(d.starts_with("digraph")) << d.substr(0, 80);
  EXPECT_NE(d.find("model.layers.1.self_attn.q_proj"), std::string::npos);
  EXPECT_NE(d.find("[block_fp8_gemm."), std::string::npos);  // the chosen kernel on the node
  EXPECT_EQ(d.find("#cc0000"), std::string::npos);           // nothing highlighted

  const auto v = boost::json::parse(slurp(json)).as_object();
  EXPECT_EQ(v.at("errors").as_int64(), 0);
  std::size_t params = 0, with_findings = 0;
  for (const auto& n : v.at("nodes").as_array()) {
    params += n.as_object().at("kind").as_string() == "parameter";
    with_findings += n.as_object().contains("findings");
  }
  EXPECT_EQ(params, 35u);  // every tensor of the checkpoint is a parameter
  EXPECT_EQ(with_findings, 0u);
}

// A graph finding (here: a header bound to a parameter, a norm weight stored as i32) is
// highlighted in red in DOT and listed on its node in JSON.
TEST_F(GraphCommand, NodesWithFindingsAreHighlighted) {
  const auto src = example("llama-fp8-block");
  const auto dir = root() / "int-norm-weight";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(src / "config.json", dir / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  {
    model::CheckpointTensors t = model::make_checkpoint_tensors(
        model::build_checkpoint_spec(model::load_hf_config(src)), 1);
    model::TensorData& e = t.at("model.layers.0.input_layernorm.weight");
    e.dtype = tensor::DType::kI32;  // same shape; 4 bytes per element instead of bf16's 2
    e.bytes.resize(e.bytes.size() * 2);
    t.writer().write(dir / "model.safetensors");
  }
  const auto dot = root() / "bad.dot", json = root() / "bad.json";
  Result r = graph_cmd({dir.string(), "--dot", dot.string(), "--json", json.string()});
  EXPECT_EQ(r.rc, kExitFindings) << r.out;
  EXPECT_NE(r.out.find("error[dtype]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.layers.0.input_layernorm.weight"), std::string::npos) << r.out;

  const std::string d = slurp(dot);
  const auto at = d.find("parameter model.layers.0.input_layernorm.weight");
  ASSERT_NE(at, std::string::npos);
  const std::string line = d.substr(at, d.find('\n', at) - at);
  EXPECT_NE(line.find("#cc0000"), std::string::npos) << line;
  EXPECT_NE(line.find("tooltip=\"error[dtype]"), std::string::npos) << line;

  const auto v = boost::json::parse(slurp(json)).as_object();
  int flagged = 0;
  for (const auto& n : v.at("nodes").as_array()) {
    const auto& o = n.as_object();
    if (!o.contains("findings")) continue;
    ++flagged;
    EXPECT_EQ(o.at("name").as_string(), "model.layers.0.input_layernorm.weight");
    const auto& f = o.at("findings").as_array().at(0).as_object();
    EXPECT_EQ(f.at("code").as_string(), "dtype");
    EXPECT_EQ(f.at("severity").as_string(), "error");
    EXPECT_EQ(f.at("pass").as_string(), "bind");
  }
  EXPECT_EQ(flagged, 1);
}

TEST_F(GraphCommand, DumpsToStdoutWithoutFiles) {
  Result r = graph_cmd({std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama"});
  EXPECT_EQ(r.rc, kExitClean) << r.out;
  EXPECT_NE(r.out.find("= linear("), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("model.layers.1.mlp.down_proj"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

TEST_F(GraphCommand, BadInputAndUsageAreErrors) {
  EXPECT_THROW(graph_cmd({}), diag::Error);
  EXPECT_THROW(graph_cmd({"/nonexistent/checkpoint"}), diag::Error);
  EXPECT_THROW(graph_cmd({example("llama-fp8-block").string(), "--dot"}), diag::Error);
  EXPECT_THROW(graph_cmd({example("llama-fp8-block").string(), "--frobnicate"}), diag::Error);
  EXPECT_THROW(graph_cmd({example("llama-fp8-block").string(), "--dot", "/nonexistent/dir/x.dot"}),
               diag::Error);
}

}  // namespace
}  // namespace symtrace::cli
