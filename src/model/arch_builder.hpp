// Private: the pieces build_model_graph is made of. ArchBuilder holds the tracer, the config
// symbols and the checkpoint spec; arch_builder.cpp makes parameters and linears (per the
// spec's quantization scheme), arch_decoder.cpp walks the dense decoder, arch_moe.cpp the
// routed experts and arch_mla.cpp DeepSeek-V3's latent attention.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <symtrace/graph/tracer.hpp>
#include <symtrace/model/architecture.hpp>

namespace symtrace::model::detail {

using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::SymShape;

class ArchBuilder {
 public:
  ArchBuilder(graph::Graph& g, const ModelConfig& cfg, const CheckpointSpec& spec,
              const BuildOptions& opt, std::vector<diag::Diagnostic>& findings);

  graph::Tracer& tr() { return tr_; }
  const ModelConfig& cfg() const { return cfg_; }
  const CheckpointSpec& spec() const { return spec_; }
  const BuildOptions& opt() const { return opt_; }
  DType act() const { return act_; }  // activation / unquantized weight dtype

  // The config symbol `name` for `d` (created on first use, with provenance d.source and the
  // range [1, value] plus the power-of-two divisibility of the value: facts that bind() checks
  // and that kernel rules such as K <= 65535 or N % 64 == 0 are decided with).
  SymInt dim(const ConfigDim& d, const char* name);
  // The input-size symbols B and S.
  SymInt B() const { return B_; }
  SymInt S() const { return S_; }

  // An unquantized parameter (norm, embedding, bias, router): the checkpoint's name, the
  // compute dtype when one is forced, else the spec's dtype (the model dtype by default).
  Traced plain(const std::string& name, SymShape sizes);
  // A parameter that keeps the spec's dtype regardless of compute_dtype (e.g. DeepSeek's
  // e_score_correction_bias, read in f32 by the router).
  Traced exact(const std::string& name, SymShape sizes, DType fallback);

  // y = x · Wᵀ (+ bias) for checkpoint module `module` ([N, K] weight) under its format:
  // unquantized linear, block fp8, fp8/int8 W8A8, NVFP4 W4A16 (OPS.md §5-§10, §12). An
  // unquantized bf16/f16 weight under an f32 compute dtype keeps its file dtype and runs
  // linear_w16, so load_params maps it instead of holding an f32 copy (a decode step then
  // streams half the weight bytes).
  Traced linear(const std::string& module, const Traced& x, SymInt N, SymInt K);
  // A linear whose weight is another module's tensor (tied lm_head reads embed_tokens).
  Traced linear_with(const Traced& x, const Traced& w);
  // The embedding table: in its 16-bit file dtype when the compute dtype is f32 (rows are
  // widened after the lookup, and a tied lm_head reads it through linear_w16), else plain().
  Traced embedding_table(const std::string& name, SymShape sizes);

  Traced rms_norm(const std::string& module, const Traced& x, SymInt H);
  // x in dtype d: a `to` node only when the dtype differs.
  Traced cast(const Traced& x, DType d);

  // Records what the builder cannot express (the graph still traces something sensible).
  void finding(std::string code, diag::Severity sev, std::string module, std::string message);

 private:
  DType param_dtype(const std::string& name) const;
  // The spec's dtype of weight `name` when it is bf16/f16 and the compute dtype is f32 (the
  // weights linear_w16 reads as they are), else nullopt.
  std::optional<DType> weight16(const std::string& name) const;
  const ExpectedTensor* expected(std::string_view name) const;
  Traced quantized_linear(const std::string& module, const LinearSpec& ls, const Traced& x,
                          SymInt N, SymInt K, std::optional<Traced> bias);

  graph::Tracer tr_;
  const ModelConfig& cfg_;
  const CheckpointSpec& spec_;
  const BuildOptions& opt_;
  std::vector<diag::Diagnostic>& findings_;
  DType act_;
  SymInt B_, S_;
  std::map<std::string, SymInt, std::less<>> dims_;
  // CheckpointSpec::linear scans and find bisects long common prefixes; a 61-layer MoE model
  // asks ~45k and ~140k times (measured: 3.8 s of a 4.8 s trace before these maps).
  std::unordered_map<std::string_view, const LinearSpec*> linears_;
  std::unordered_map<std::string_view, const ExpectedTensor*> tensors_;
};

// The decoder stack of every architecture (arch_decoder.cpp).
void build_decoder(ArchBuilder& b);

}  // namespace symtrace::model::detail
