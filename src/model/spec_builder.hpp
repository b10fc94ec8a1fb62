// Private: the pieces build_checkpoint_spec is made of. spec_architectures.cpp walks a model
// (embeddings, layers, attention, MLP or experts) and declares modules; checkpoint_spec.cpp
// turns each linear into its tensors per quantization format and checks fusion and TP.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <symtrace/model/checkpoint_spec.hpp>

namespace symtrace::model::detail {

// A size with its expression over config keys ("config.hidden_size").
struct Dim {
  std::int64_t v = 0;
  std::string e;
};
Dim cfg_dim(const ConfigDim& d);
Dim lit(std::int64_t v);
Dim mul(const Dim& a, const Dim& b);
Dim add(const Dim& a, const Dim& b);

struct LinearDecl {
  std::string name;  // checkpoint module, e.g. "model.layers.0.self_attn.q_proj"
  Dim N, K;
  Parallel parallel = Parallel::kReplicated;
  std::string fused;  // fused module name, empty when not fused
  int partition = -1;
  std::int64_t expert = -1;
  bool bias = false;
  bool never_quantized = false;  // routers and lm_head (OPS.md §9.1, §11.6)
  // Column-parallel layers split by heads: with fewer heads than ranks vLLM replicates them,
  // so a rank holds one head (needs tp % heads == 0) instead of N / tp rows.
  std::int64_t heads = 0, head_size = 0;

  LinearDecl& part_of(std::string f, int p) { fused = std::move(f), partition = p; return *this; }
  LinearDecl& with_bias(bool b) { bias = b; return *this; }
  LinearDecl& split_by_heads(std::int64_t h, std::int64_t size) { heads = h, head_size = size; return *this; }
  LinearDecl& of_expert(std::int64_t e) { expert = e; return *this; }
  LinearDecl& unquantized() { never_quantized = true; return *this; }
};
inline LinearDecl linear_decl(std::string name, Dim N, Dim K,
                              Parallel parallel = Parallel::kReplicated) {
  LinearDecl d;
  d.name = std::move(name), d.N = std::move(N), d.K = std::move(K), d.parallel = parallel;
  return d;
}

// Fused modules: a dense packed module (qkv_proj, gate_up_proj, fused_qkv_a_proj) or the
// experts of one MoE layer; ignore decisions and block alignment are checked per group.
struct FusedGroup {
  std::string name;
  std::vector<std::string> parts;  // checkpoint module names, partition order
  bool tp_split = true;            // false: a merged layer that stays whole on every rank
};

class SpecBuilder {
 public:
  SpecBuilder(const ModelConfig& cfg, const QuantConfig* quant, SpecOptions opt);

  const ModelConfig& cfg() const { return cfg_; }
  // Embeddings, norms and other unquantized tensors in the model dtype.
  void plain(std::string name, TensorRole role, std::vector<Dim> dims, std::string module,
             tensor::DType dtype, std::vector<tensor::DType> also = {});
  void linear(const LinearDecl& d);
  // k_scale / v_scale of a quantized KV cache (compressed-tensors kv_cache_scheme), optional.
  void kv_cache_scales(const std::string& attn_prefix);
  void group(FusedGroup g) { groups_.push_back(std::move(g)); }
  // Any module name a ignore entry may legitimately name (lm_head, routers, fused names).
  void known_module(std::string name) { known_.push_back(std::move(name)); }
  // A module whose tensors are neither expected nor unexpected.
  void unchecked(std::string module) { spec_.unchecked_modules.push_back(std::move(module)); }

  CheckpointSpec finish();

 private:
  void add(ExpectedTensor t);
  // Per-rank (N, K) under TP, or nullopt (with a tp-divisibility finding when `report`).
  std::optional<std::pair<Dim, Dim>> per_rank(const LinearDecl& d, const QuantArgs* w, bool report);
  void report_once(diag::Diagnostic f, const std::string& key);
  void check_groups();
  void check_ignore_entries();

  const ModelConfig& cfg_;
  const QuantConfig* quant_;
  SpecOptions opt_;
  CheckpointSpec spec_;
  std::vector<FusedGroup> groups_;
  std::vector<std::string> known_;
  std::vector<std::string> reported_;  // keys of findings reported once (per scheme)
};

// Declares every module of cfg's architecture (spec_architectures.cpp).
void declare_modules(SpecBuilder& b);

}  // namespace symtrace::model::detail
