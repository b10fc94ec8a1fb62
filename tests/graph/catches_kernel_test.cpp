// The kernel-choice catches (issue 5, catches 4-6): selection, prepare and verify must agree,
// every refusal carries its reason, and nothing is left to a run-time fallback.
#include <gtest/gtest.h>

#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>

#include "tests/graph/qlinear_ops.hpp"

namespace symtrace::graph {
namespace {

using sym::SymInt;
using tensor::DType;
using tensor::ScaleFormat;

const Finding* find(const Graph& g, std::string_view code, NodeId node) {
  for (const Finding& f : g.findings())
    if (f.diag.code == code && f.node == node) return &f;
  return nullptr;
}

bool has_note(const Finding& f, std::string_view text) {
  for (const std::string& n : f.diag.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// A block-fp8 layer: x [B, S, K] @ w [N, K] with block scales ws [N/128, K/128].
struct BlockModel {
  op::Registry reg;
  Graph g;
  Tracer tr{g, reg};
  SymInt B, S;
  Traced w, ws;

  BlockModel(std::vector<op::Variant> variants, SymInt N, SymInt K,
             ScaleFormat fmt = ScaleFormat::kF32)
      : reg(make(std::move(variants))) {
    B = tr.symbol("B", "input x dim 0");
    S = tr.symbol("S", "input x dim 1");
    w = tr.weight("proj.weight", {N, K}, DType::kF8E4M3FN);
    ws = tr.scale("proj.weight_scale_inv", w, {sym::ceildiv(N, 128), sym::ceildiv(K, 128)},
                  block(128, 128), fmt,
                  fmt == ScaleFormat::kUE8M0 ? DType::kF8E8M0FNU : DType::kF32);
  }
  static op::Registry make(std::vector<op::Variant> variants) {
    op::Registry r;
    r.add(toy::bgemm_op(std::move(variants)));
    return r;
  }
  Traced layer(std::string_view name, DType act, std::optional<DType> out) {
    Traced x = tr.input(std::string(name) + ".x", {B, S, w.size(1)}, act);
    auto scope = tr.scope(name);
    std::vector<NamedArg> named;
    if (out) named.push_back({"out_dtype", *out});
    Traced y = tr.call("bgemm", {x, w, ws}, std::move(named));
    tr.output(std::string(name) + ".y", y);
    return y;
  }
};

// --- 4. UE8M0 scales reaching a variant that reads f32 scales ---------------------------

TEST(Catch4Ue8m0ReachesF32Kernel, LoaderConvertedScalesOnAnFp16ModelFindNoKernel) {
  // SGLang #22300: scales requantized to UE8M0 for DeepGEMM, but the model is fp16, so the
  // DeepGEMM gate fails and the f32 kernel would read UE8M0 bytes.
  BlockModel m({toy::bgemm_deepgemm(false), toy::bgemm_generic()}, 512, 1024, ScaleFormat::kUE8M0);
  Traced y = m.layer("model.layers.0.mlp.down_proj", DType::kF16, std::nullopt);
  select_kernels(m.g, {.allow_reference_fallback = false});
  const Finding* f = find(m.g, "applicability", y.ref().node);
  ASSERT_NE(f, nullptr) << render_findings(m.g);
  EXPECT_EQ(f->diag.severity, diag::Severity::kError);
  // DeepGEMM's prepare would convert the scales again; it refuses a UE8M0 bundle.
  EXPECT_TRUE(has_note(*f, "bgemm.deepgemm_like: its prepare step refuses: scales are already "
                           "UE8M0"))
      << render(m.g, *f);
  EXPECT_TRUE(has_note(*f, "bgemm.generic: reads f32 scales; got ue8m0")) << render(m.g, *f);
  EXPECT_EQ(m.g.selection(y.ref().node)->kind, SelectionKind::kRefused);
}

TEST(Catch4Ue8m0ReachesF32Kernel, SharedWeightPreparedForOneVariantIsRefusedToAnother) {
  BlockModel m({toy::bgemm_deepgemm(false), toy::bgemm_generic()}, 512, 1024);
  Traced a = m.layer("lm_head", DType::kBF16, DType::kBF16);    // DeepGEMM: UE8M0 prepare
  Traced b = m.layer("mtp.head", DType::kF16, DType::kF16);     // f16: DeepGEMM refuses
  run_pipeline(m.g, {.allow_reference_fallback = false});
  EXPECT_EQ(m.g.kernel_name(a.ref().node), "bgemm.deepgemm_like");
  ASSERT_NE(m.g.prepared(m.ws.ref().node), nullptr);
  EXPECT_EQ(m.g.meta(m.ws.ref()).scale_fmt, ScaleFormat::kUE8M0);
  const Finding* f = find(m.g, "applicability", b.ref().node);
  ASSERT_NE(f, nullptr) << render_findings(m.g);
  EXPECT_TRUE(has_note(*f, "bgemm.deepgemm_like: out dtype f16 != bf16")) << render(m.g, *f);
  EXPECT_TRUE(has_note(*f, "bgemm.generic: `ws` is prepared by bgemm.deepgemm_like.prepare for "
                           "lm_head (bgemm)"))
      << render(m.g, *f);
}

TEST(Catch4Ue8m0ReachesF32Kernel, ForcedF32KernelOnUe8m0ScalesFailsVerify) {
  BlockModel m({toy::bgemm_deepgemm(false), toy::bgemm_generic()}, 512, 1024);
  Traced a = m.layer("lm_head", DType::kBF16, DType::kBF16);
  Traced b = m.layer("mtp.head", DType::kF16, DType::kF16);
  select_kernels(m.g);
  m.g.force_kernel(b.ref().node, "bgemm.generic");  // a user override
  prepare(m.g);
  EXPECT_GT(verify(m.g), 0u);
  const Finding* f = nullptr;
  for (const Finding& x : m.g.findings())
    if (x.node == b.ref().node && x.diag.code == "applicability" && x.pass == "verify" &&
        x.diag.message.find("was prepared by") != std::string::npos)
      f = &x;
  ASSERT_NE(f, nullptr) << render_findings(m.g);
  EXPECT_EQ(f->diag.message,
            "`ws` was prepared by bgemm.deepgemm_like.prepare for lm_head (bgemm), but this node "
            "runs bgemm.generic");
  EXPECT_EQ(f->related, (std::vector<NodeId>{m.ws.ref().node, a.ref().node}));
  bool rule_fails = false;  // and the f32 kernel's own rule refuses what it will read
  for (const Finding& x : m.g.findings())
    rule_fails = rule_fails || (x.node == b.ref().node && x.diag.got == "reads f32 scales; got ue8m0");
  EXPECT_TRUE(rule_fails) << render_findings(m.g);
}

TEST(Catch4Ue8m0ReachesF32Kernel, ConsistentChoicesAreClean) {
  BlockModel m({toy::bgemm_deepgemm(false), toy::bgemm_generic()}, 512, 1024);
  m.layer("a", DType::kBF16, DType::kBF16);
  m.layer("b", DType::kBF16, DType::kBF16);  // the same prepared weight, the same variant
  EXPECT_EQ(run_pipeline(m.g, {.allow_reference_fallback = false}), 0u) << render_findings(m.g);
  EXPECT_EQ(m.g.count(diag::Severity::kWarning), 0u) << render_findings(m.g);
}

// --- 5. Applicability Unknown for the traced symbols -------------------------------------

TEST(Catch5UnknownApplicability, PicksTheProvenVariantAndSaysWhyTheOtherLost) {
  op::Registry reg = BlockModel::make({toy::bgemm_deepgemm(false), toy::bgemm_generic()});
  Graph g;
  Tracer tr(g, reg);
  SymInt Ns = tr.symbol("N", "config.intermediate_size / tp", sym::SymbolKind::kConfig);
  SymInt Ks = tr.symbol("K", "config.hidden_size", sym::SymbolKind::kConfig);
  SymInt B = tr.symbol("B", "input x dim 0");
  Traced w = tr.weight("w", {Ns, Ks}, DType::kF8E4M3FN);
  Traced ws = tr.scale("ws", w, {sym::ceildiv(Ns, 128), sym::ceildiv(Ks, 128)}, block(128, 128));
  Traced x = tr.input("x", {B, Ks}, DType::kBF16);
  Traced y = tr.call("bgemm", {x, w, ws}, {{"out_dtype", DType::kBF16}});
  tr.output("y", y);
  EXPECT_EQ(run_pipeline(g), 0u) << render_findings(g);
  const Selection* s = g.selection(y.ref().node);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(g.kernel_name(y.ref().node), "bgemm.generic");
  ASSERT_EQ(s->rejected.size(), 1u);
  EXPECT_EQ(s->rejected[0].truth, sym::Truth::kUnknown);
  EXPECT_EQ(s->rejected[0].reason, "N % 64 == 0 is unknown: N = N");
  EXPECT_TRUE(s->guards.empty());
  EXPECT_TRUE(g.env().guards().empty());  // refusing recorded nothing
}

TEST(Catch5UnknownApplicability, ProvenFactsSelectTheFastVariantWithoutGuards) {
  op::Registry reg = BlockModel::make({toy::bgemm_deepgemm(false), toy::bgemm_generic()});
  Graph g;
  Tracer tr(g, reg);
  SymInt N = tr.symbol("N", "config.intermediate_size / tp", sym::SymbolKind::kConfig);
  SymInt K = tr.symbol("K", "config.hidden_size", sym::SymbolKind::kConfig);
  g.env().assume_divisible(N.expr(), 128);
  g.env().assume_divisible(K.expr(), 128);
  SymInt B = tr.symbol("B", "input x dim 0");
  Traced w = tr.weight("w", {N, K}, DType::kF8E4M3FN);
  Traced ws = tr.scale("ws", w, {sym::ceildiv(N, 128), sym::ceildiv(K, 128)}, block(128, 128));
  Traced y = tr.call("bgemm", {tr.input("x", {B, K}, DType::kBF16), w, ws},
                     {{"out_dtype", DType::kBF16}});
  tr.output("y", y);
  EXPECT_EQ(run_pipeline(g), 0u) << render_findings(g);
  EXPECT_EQ(g.kernel_name(y.ref().node), "bgemm.deepgemm_like");
  EXPECT_TRUE(g.selection(y.ref().node)->guards.empty());
}

TEST(Catch5UnknownApplicability, GuardingVariantRecordsTheGuardAndBindChecksIt) {
  op::Registry reg = BlockModel::make({toy::bgemm_deepgemm(true), toy::bgemm_generic()});
  Graph g;
  Tracer tr(g, reg);
  SymInt N = tr.symbol("N", "config.intermediate_size / tp", sym::SymbolKind::kConfig);
  SymInt K = tr.symbol("K", "config.hidden_size", sym::SymbolKind::kConfig);
  SymInt B = tr.symbol("B", "input x dim 0");
  Traced w = tr.weight("w", {N, K}, DType::kF8E4M3FN);
  Traced ws = tr.scale("ws", w, {sym::ceildiv(N, 128), sym::ceildiv(K, 128)}, block(128, 128));
  Traced y = tr.call("bgemm", {tr.input("x", {B, K}, DType::kBF16), w, ws},
                     {{"out_dtype", DType::kBF16}});
  tr.output("y", y);
  EXPECT_EQ(run_pipeline(g), 0u) << render_findings(g);
  EXPECT_EQ(g.kernel_name(y.ref().node), "bgemm.deepgemm_guarded");
  const Selection* s = g.selection(y.ref().node);
  ASSERT_EQ(s->guards.size(), 2u);
  const sym::Guard& guard = g.env().guards()[s->guards[0]];
  EXPECT_EQ(guard.reason, "bgemm.deepgemm_guarded: N % 64 == 0");
  EXPECT_EQ(g.guard_site(s->guards[0]), y.ref().node);
  EXPECT_NO_THROW(g.env().bind({{"N", 512}, {"K", 1024}, {"B", 2}}));
  try {
    g.env().bind({{"N", 100}, {"K", 1024}, {"B", 2}});
    ADD_FAILURE() << "N = 100 violates the guard";
  } catch (const diag::Error& e) {
    EXPECT_NE(e.diagnostic().message.find("bgemm.deepgemm_guarded: N % 64 == 0"), std::string::npos)
        << e.what();
  }
}

// --- 6. A quantization scheme no kernel supports -----------------------------------------

TEST(Catch6UnsupportedScheme, FindingListsEveryKernelAndItsReason) {
  op::Registry reg;
  reg.add(toy::fp4_gemm_op());
  for (bool fallback : {true, false}) {
    Graph g;
    Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0");
    Traced x = tr.input("x", {B, 256}, DType::kBF16);
    auto scope = tr.scope("model.layers.0.mlp.experts");
    Traced w = tr.weight("w", {128, 128}, DType::kU8, tensor::WeightLayout::kPacked);
    Traced s = tr.scale("w_scale", w, {128, 16}, group(16), ScaleFormat::kE4M3, DType::kF8E4M3FN);
    Traced y = tr.call("fp4_gemm", {x, w, s});  // W4A16: no input_scale
    tr.output("y", y);
    select_kernels(g, {.allow_reference_fallback = fallback});
    const Finding* f = find(g, "applicability", y.ref().node);
    ASSERT_NE(f, nullptr) << render_findings(g);
    EXPECT_EQ(f->diag.severity, fallback ? diag::Severity::kWarning : diag::Severity::kError);
    ASSERT_EQ(f->diag.notes.size(), 3u) << render(g, *f);
    EXPECT_EQ(f->diag.notes[0],
              "fp4_gemm.b12x_w4a4: needs NVFP4 activations (an input_scale); the checkpoint is "
              "weight-only (W4A16) (false)");
    EXPECT_EQ(f->diag.notes[1].rfind("fp4_gemm.cutlass_w4a4: needs NVFP4 activations", 0), 0u);
    EXPECT_EQ(f->diag.notes[2], "fp4_gemm.marlin_w4a16: needs f16 activations; got bf16 (false)");
    EXPECT_EQ(g.kernel_name(y.ref().node), fallback ? "fp4_gemm.reference" : "");
  }
}

TEST(Catch6UnsupportedScheme, IsaRefusalsAreReasonsToo) {
  op::OpDef d = toy::fp4_gemm_op();
  d.variants[2].isa = tensor::Isa::kAvx512Bf16;
  d.variants[2].applicable = {};
  op::Registry reg;
  reg.add(std::move(d));
  Graph g;
  Tracer tr(g, reg);
  Traced x = tr.input("x", {4, 256}, DType::kBF16);
  Traced w = tr.weight("w", {128, 128}, DType::kU8, tensor::WeightLayout::kPacked);
  Traced s = tr.scale("w_scale", w, {128, 16}, group(16), ScaleFormat::kE4M3, DType::kF8E4M3FN);
  Traced y = tr.call("fp4_gemm", {x, w, s});
  select_kernels(g);
  if (tensor::cpu_supports(tensor::Isa::kAvx512Bf16)) {
    EXPECT_EQ(g.kernel_name(y.ref().node), "fp4_gemm.marlin_w4a16");
  } else {
    const Finding* f = find(g, "applicability", y.ref().node);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(has_note(*f, "fp4_gemm.marlin_w4a16: needs avx512_bf16")) << render(g, *f);
  }
}

}  // namespace
}  // namespace symtrace::graph
