// DType traits and name parsing. Conversions live in convert_scalar.cpp / convert.cpp.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/dtype.hpp>

#include <array>
#include <cctype>
#include <string>

namespace symtrace::tensor {
namespace {

constexpr double kBf16Max = 3.3895313892515355e38;  // 0x7F7F
constexpr double kE8m0Max = 1.7014118346046923e38;  // 2^127

// Order follows the enum; static_asserts below keep it so.
constexpr std::array<DTypeInfo, kNumDTypes> kInfos = {{
    {DType::kF64, "f64", "F64", 8, 64, true, true, 1.7976931348623157e308, true, true},
    {DType::kF32, "f32", "F32", 4, 32, true, true, 3.4028234663852886e38, true, true},
    {DType::kF16, "f16", "F16", 2, 16, true, true, 65504.0, true, true},
    {DType::kBF16, "bf16", "BF16", 2, 16, true, true, kBf16Max, true, true},
    {DType::kF8E4M3FN, "f8_e4m3fn", "F8_E4M3", 1, 8, true, true, 448.0, false, true},
    {DType::kF8E5M2, "f8_e5m2", "F8_E5M2", 1, 8, true, true, 57344.0, true, true},
    // safetensors has no fnuz codes: ROCm checkpoints store e4m3fn and convert at load.
    {DType::kF8E4M3FNUZ, "f8_e4m3fnuz", "", 1, 8, true, true, 240.0, false, true},
    {DType::kF8E5M2FNUZ, "f8_e5m2fnuz", "", 1, 8, true, true, 57344.0, false, true},
    {DType::kF8E8M0FNU, "f8_e8m0fnu", "F8_E8M0", 1, 8, true, false, kE8m0Max, false, true},
    // safetensors "F4" counts 4-bit elements, as our sizes do (bytes = per packed pair).
    {DType::kF4E2M1X2, "f4_e2m1x2", "F4", 1, 4, true, true, 6.0, false, false},
    {DType::kI64, "i64", "I64", 8, 64, false, true, 9.223372036854775807e18, false, false},
    {DType::kI32, "i32", "I32", 4, 32, false, true, 2147483647.0, false, false},
    {DType::kI16, "i16", "I16", 2, 16, false, true, 32767.0, false, false},
    {DType::kI8, "i8", "I8", 1, 8, false, true, 127.0, false, false},
    {DType::kU8, "u8", "U8", 1, 8, false, false, 255.0, false, false},
    {DType::kBool, "bool", "BOOL", 1, 8, false, false, 1.0, false, false},
}};

constexpr bool infos_in_enum_order() {
  for (int i = 0; i < kNumDTypes; ++i)
    if (static_cast<int>(kInfos[i].dtype) != i) return false;
  return true;
}
static_assert(infos_in_enum_order(), "kInfos must follow the DType enum order");

struct Alias {
  std::string_view spelling;
  DType dtype;
};

// PyTorch names (torch.float8_e4m3fn), their short forms and common abbreviations.
// Looked up after lower-casing and stripping a "torch." prefix.
constexpr Alias kAliases[] = {
    {"float64", DType::kF64},          {"double", DType::kF64},
    {"fp64", DType::kF64},             {"float32", DType::kF32},
    {"float", DType::kF32},            {"fp32", DType::kF32},
    {"float16", DType::kF16},          {"half", DType::kF16},
    {"fp16", DType::kF16},             {"bfloat16", DType::kBF16},
    {"float8_e4m3fn", DType::kF8E4M3FN}, {"fp8_e4m3fn", DType::kF8E4M3FN},
    {"f8_e4m3", DType::kF8E4M3FN},     {"fp8_e4m3", DType::kF8E4M3FN},
    {"e4m3fn", DType::kF8E4M3FN},      {"e4m3", DType::kF8E4M3FN},
    {"float8_e5m2", DType::kF8E5M2},   {"fp8_e5m2", DType::kF8E5M2},
    {"e5m2", DType::kF8E5M2},          {"float8_e4m3fnuz", DType::kF8E4M3FNUZ},
    {"fp8_e4m3fnuz", DType::kF8E4M3FNUZ}, {"e4m3fnuz", DType::kF8E4M3FNUZ},
    {"float8_e5m2fnuz", DType::kF8E5M2FNUZ}, {"fp8_e5m2fnuz", DType::kF8E5M2FNUZ},
    {"e5m2fnuz", DType::kF8E5M2FNUZ},  {"float8_e8m0fnu", DType::kF8E8M0FNU},
    {"f8_e8m0", DType::kF8E8M0FNU},    {"e8m0", DType::kF8E8M0FNU},
    {"ue8m0", DType::kF8E8M0FNU},      {"float4_e2m1fn_x2", DType::kF4E2M1X2},
    {"f4_e2m1", DType::kF4E2M1X2},     {"f4_e2m1fn_x2", DType::kF4E2M1X2},
    {"e2m1", DType::kF4E2M1X2},        {"int64", DType::kI64},
    {"long", DType::kI64},             {"int32", DType::kI32},
    {"int", DType::kI32},              {"int16", DType::kI16},
    {"short", DType::kI16},            {"int8", DType::kI8},
    {"uint8", DType::kU8},
};

}  // namespace

const DTypeInfo& info(DType d) {
  const auto i = static_cast<std::size_t>(d);
  if (i >= kInfos.size()) throw diag::InternalError("DType value out of range");
  return kInfos[i];
}

std::string_view name(DType d) { return info(d).name; }

std::optional<DType> dtype_from_name(std::string_view raw) {
  std::string s;
  s.reserve(raw.size());
  for (char c : raw) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::string_view v = s;
  if (v.starts_with("torch.")) v.remove_prefix(6);
  for (const DTypeInfo& i : kInfos)
    if (i.name == v) return i.dtype;
  for (const Alias& a : kAliases)
    if (a.spelling == v) return a.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_safetensors(std::string_view code) {
  if (code.empty()) return std::nullopt;
  for (const DTypeInfo& i : kInfos)
    if (i.safetensors == code) return i.dtype;
  return std::nullopt;
}

bool is_fp8(DType d) {
  switch (d) {
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kF8E4M3FNUZ:
    case DType::kF8E5M2FNUZ: return true;
    default: return false;
  }
}

}  // namespace symtrace::tensor
