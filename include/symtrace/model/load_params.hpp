// model::load_params — the checkpoint's tensors into a Plan's parameters, by name.
//
//   auto ckpt = SafetensorsCheckpoint::open(dir);
//   exec::Plan plan(built.graph);
//   LoadReport r = load_params(plan, ckpt);   // every live parameter, or a diag::Error
//
// Each parameter of the graph is the checkpoint tensor of the same name (architecture.hpp),
// viewed from the mmap without a copy when dtype and shape agree. A float parameter whose
// traced dtype differs from the file's (a bf16 checkpoint run in f32) is converted once;
// quantized codes (fp8, int8, packed fp4) and scales are never converted. A shape differing
// only by unit dims ([N] scales where the graph traced [N, 1], as some writers store them)
// is viewed into the traced shape. A parameter with ParamInfo::stacked_from (MoE experts
// stacked for a fused kernel) is its source tensors concatenated along their first dim, each
// checked for dtype, trailing dims and (scales) values. Errors name the tensor, the file,
// expected and got:
// missing-tensor, param-dtype, param-shape, bad-scale (NaN, inf, zero or negative scales).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/exec/plan.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model {

struct LoadOptions {
  // Scan scale parameters (weight/input/global scales) for NaN, inf, zero and negative values.
  bool check_scales = true;
  // Parameters the checkpoint does not hold (e.g. computed tables, or a stacked parameter's
  // whole tensor made by a benchmark): return a tensor for them, or nullopt to report the
  // tensor missing (a stacked parameter is then built from its sources).
  std::function<std::optional<tensor::Tensor>(std::string_view name, const tensor::TensorMeta& traced)> extra{};
};

struct LoadReport {
  std::size_t params = 0;             // parameters set
  std::size_t converted = 0;          // of which converted to the traced float dtype
  std::uint64_t bytes_mapped = 0;     // checkpoint bytes viewed in place
  std::uint64_t bytes_converted = 0;  // bytes of converted tensors (as traced)
};

// The tensor for one parameter of `g` (a live kParameter node), checked and converted as
// above, in the parameter's checkpoint (pre-prepare) layout.
tensor::Tensor param_tensor(const graph::Graph& g, graph::NodeId param, const SafetensorsCheckpoint& ckpt,
                            const LoadOptions& opt = {}, bool* converted = nullptr);

// Sets every live parameter of plan.graph().
LoadReport load_params(exec::Plan& plan, const SafetensorsCheckpoint& ckpt, const LoadOptions& opt = {});

}  // namespace symtrace::model
