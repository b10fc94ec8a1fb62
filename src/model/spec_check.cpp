// A checkpoint's tensors against its spec: names, dtypes, shapes (check_tensor_list) and the
// values of its scales (scan_scales).
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model {

using diag::Severity;
using tensor::DType;

namespace {

std::string dims_str(const std::vector<std::int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

std::int64_t numel_of(const std::vector<std::int64_t>& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;  // shapes validated by the reader: no overflow
  return n;
}

bool is_scale_role(TensorRole r) {
  return r == TensorRole::kWeightScale || r == TensorRole::kInputScale ||
         r == TensorRole::kZeroPoint || r == TensorRole::kGlobalScale;
}

diag::Diagnostic make(std::string code, Severity sev, const ExpectedTensor* t, std::string_view name,
                      std::string_view file, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.severity = sev;
  d.argument = std::string(name);
  if (t != nullptr) {
    d.node = t->module;
    d.notes = t->notes;
  }
  d.message = fmt::format("{}: {}", file, message);
  return d;
}

std::string expected_str(const ExpectedTensor& t) {
  return fmt::format("{} {} = {}", safetensors_code(t.dtype), t.symbolic_shape(), t.shape_str());
}

// Why a scale of the right numel has the wrong shape, when the shapes tell.
std::string layout_hint(const ExpectedTensor& t, const std::vector<std::int64_t>& got) {
  const auto want = t.shape();
  if (want.size() == 2 && want[1] == 1 && got.size() == 1)
    return "per-channel scale stored 1-D [N] (Quark's layout); this format stores [N, 1]";
  if (want.size() == 1 && got.size() == 2 && got[1] == 1)
    return "per-channel scale stored [N, 1]; this format stores 1-D [N]";
  if (want.size() == 2 && got.size() == 2 && want[0] == got[1] && want[1] == got[0])
    return t.granularity == Strategy::kBlock
               ? "the block grid is transposed: [cdiv(K, bk), cdiv(N, bn)] instead of "
                 "[cdiv(N, bn), cdiv(K, bk)] (a scale transposed without its weight)"
               : "the scale is transposed";
  return "same number of values in another layout";
}

}  // namespace

std::vector<diag::Diagnostic> check_tensor_list(const CheckpointSpec& spec,
                                                const SafetensorsCheckpoint& ckpt) {
  std::vector<diag::Diagnostic> out;
  for (const ExpectedTensor& t : spec.tensors) {
    const TensorInfo* got = ckpt.find(t.name);
    if (got == nullptr) {
      if (t.optional) continue;
      const std::string file = ckpt.files().empty() ? "checkpoint" : ckpt.files().front().name();
      auto d = make("missing-tensor", Severity::kError, &t, t.name, file,
                    fmt::format("tensor '{}' ({} of {}) is missing", t.name, role_name(t.role),
                                t.module));
      d.expected = expected_str(t);
      d.got = "absent";
      out.push_back(std::move(d));
      continue;
    }
    const std::string& file = ckpt.file_of(t.name).name();
    if (!t.accepts_dtype(got->dtype)) {
      auto d = make("dtype", Severity::kError, &t, t.name, file,
                    fmt::format("tensor '{}' has dtype {}, the format stores {}", t.name,
                                got->dtype_code, safetensors_code(t.dtype)));
      d.expected = std::string(safetensors_code(t.dtype));
      for (DType a : t.also_dtypes) d.expected += fmt::format(" | {}", safetensors_code(a));
      d.got = got->dtype_code;
      out.push_back(std::move(d));
    } else if (got->dtype != t.dtype) {
      auto d = make("dtype-adapter", Severity::kNote, &t, t.name, file,
                    fmt::format("tensor '{}' is {}; the loader converts it to {}", t.name,
                                got->dtype_code, safetensors_code(t.dtype)));
      out.push_back(std::move(d));
    }
    if (!t.accepts_shape(got->shape)) {
      const bool layout = is_scale_role(t.role) && numel_of(got->shape) == numel_of(t.shape());
      const bool transposed_weight = t.role == TensorRole::kWeight && t.dims.size() == 2 &&
                                     got->shape.size() == 2 && got->shape[0] == t.dims[1].value &&
                                     got->shape[1] == t.dims[0].value;
      auto d = make(layout ? "scale-layout" : "shape", Severity::kError, &t, t.name, file,
                    fmt::format("tensor '{}' has shape {}, expected {}", t.name,
                                dims_str(got->shape), t.symbolic_shape()));
      d.expected = fmt::format("{} = {}", t.symbolic_shape(), t.shape_str());
      d.got = dims_str(got->shape);
      if (layout) d.hint = layout_hint(t, got->shape);
      else if (transposed_weight) d.hint = "the weight looks transposed ([K, N]); checkpoints store [N, K]";
      out.push_back(std::move(d));
    } else if (got->shape != t.shape()) {
      auto d = make("layout-adapter", Severity::kNote, &t, t.name, file,
                    fmt::format("tensor '{}' is stored {}; the loader reshapes it to {}", t.name,
                                dims_str(got->shape), t.shape_str()));
      out.push_back(std::move(d));
    } else if (!t.adapter.empty()) {
      auto d = make("layout-adapter", Severity::kNote, &t, t.name, file,
                    fmt::format("tensor '{}': {}", t.name, t.adapter));
      out.push_back(std::move(d));
    }
  }
  for (const SafetensorsFile& f : ckpt.files()) {
    for (const TensorInfo& info : f.tensors()) {
      if (spec.find(info.name) != nullptr || spec.unchecked(info.name)) continue;
      const bool buffer = info.name.ends_with(".rotary_emb.inv_freq");
      auto d = make("unexpected-tensor", buffer ? Severity::kNote : Severity::kError, nullptr,
                    info.name, f.name(),
                    fmt::format("tensor '{}' ({} {}) is not part of the model the config describes",
                                info.name, info.dtype_code, info.shape_str()));
      d.got = fmt::format("{} {}", info.dtype_code, info.shape_str());
      d.expected = "absent";
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<diag::Diagnostic> scan_scales(const CheckpointSpec& spec,
                                          const SafetensorsCheckpoint& ckpt, ScaleScanOptions opt) {
  std::vector<diag::Diagnostic> out;
  for (const ExpectedTensor& t : spec.tensors) {
    if (!(t.role == TensorRole::kWeightScale || t.role == TensorRole::kInputScale ||
          t.role == TensorRole::kGlobalScale))
      continue;
    const TensorInfo* info = ckpt.find(t.name);
    if (info == nullptr || !info->dtype_code.starts_with("F") || info->dtype == DType::kF4E2M1X2)
      continue;  // missing or integer: check_tensor_list reports it
    const std::span<const std::byte> bytes = ckpt.bytes(t.name);
    const std::size_t elem = tensor::info(info->dtype).bytes;
    const bool pow2 = opt.require_pow2 || t.scale_fmt == tensor::ScaleFormat::kF32Pow2;

    struct Bad {
      std::uint64_t count = 0;
      std::vector<std::string> where;
    } nan, inf, zero, neg, npow2;
    auto index_of = [&](std::uint64_t flat) {
      std::vector<std::int64_t> idx(info->shape.size());
      for (std::size_t d = info->shape.size(); d-- > 0;) {
        const auto s = static_cast<std::uint64_t>(info->shape[d]);
        idx[d] = static_cast<std::int64_t>(flat % s);
        flat /= s;
      }
      return dims_str(idx);
    };
    auto note = [&](Bad& b, std::uint64_t i, double v) {
      if (b.count++ < opt.max_listed) b.where.push_back(fmt::format("{} at {}", v, index_of(i)));
    };
    for (std::uint64_t i = 0; i < info->numel; ++i) {
      const std::byte* p = bytes.data() + i * elem;
      double v = 0;
      switch (info->dtype) {
        case DType::kF64: std::memcpy(&v, p, 8); break;
        case DType::kF32: {
          float f;
          std::memcpy(&f, p, 4);
          v = f;
          break;
        }
        case DType::kBF16:
        case DType::kF16: {
          std::uint16_t h;
          std::memcpy(&h, p, 2);
          v = info->dtype == DType::kBF16 ? tensor::bf16_to_f32(h) : tensor::f16_to_f32(h);
          break;
        }
        default: v = tensor::decode(info->dtype, std::to_integer<std::uint32_t>(*p)); break;
      }
      if (std::isnan(v)) note(nan, i, v);
      else if (std::isinf(v)) note(inf, i, v);
      else if (v == 0) note(zero, i, v);
      else if (v < 0) note(neg, i, v);
      else if (pow2) {
        int e = 0;
        if (std::frexp(v, &e) != 0.5) note(npow2, i, v);
      }
    }
    const std::string& file = ckpt.file_of(t.name).name();
    auto report = [&](const Bad& b, std::string_view what, Severity sev, std::string code,
                      std::string expected) {
      if (b.count == 0) return;
      auto d = make(std::move(code), sev, &t, t.name, file,
                    fmt::format("tensor '{}': {} of {} {} {} {}", t.name, b.count, info->numel,
                                role_name(t.role), b.count == 1 ? "value is" : "values are", what));
      d.expected = std::move(expected);
      d.got = fmt::format("{}{}", fmt::join(b.where, ", "), b.count > b.where.size() ? ", ..." : "");
      if (code == "bad-scale")
        d.hint = "dequantization multiplies by this scale: the outputs of this layer would be "
                 "NaN, infinite, zero or sign-flipped";
      out.push_back(std::move(d));
    };
    report(nan, "NaN", Severity::kError, "bad-scale", "finite > 0");
    report(inf, "infinite", Severity::kError, "bad-scale", "finite > 0");
    report(zero, "zero", Severity::kError, "bad-scale", "finite > 0");
    report(neg, "negative", Severity::kError, "bad-scale", "finite > 0");
    report(npow2, "not a power of two", Severity::kWarning, "scale-pow2",
           "2^e (scale_fmt ue8m0)");
  }
  return out;
}

}  // namespace symtrace::model
