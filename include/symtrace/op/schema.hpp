// op::Schema — a torch-style signature, parsed and validated at registration:
//   "fp8_gemm(Tensor a, Tensor b, Tensor scale_a, *, ScalarType out_dtype, Tensor? bias=None) -> Tensor"
// Types: Tensor, Tensor?, Tensor[], int, int?, int[], int[2], SymInt, SymInt[], float, float?,
// bool, str, str?, ScalarType, ScalarType?, and Scalar (a Python number: int, float or bool,
// whose kind takes part in type promotion). `?` makes any type optional. Arguments after `*`
// are keyword-only. Defaults: None, ints, floats, True/False, 'strings', dtypes, [int, ...].
// Returns: Tensor, (Tensor q, Tensor scale), (Tensor, Tensor?), Tensor[].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <symtrace/op/value.hpp>

namespace symtrace::op {

enum class ArgType : std::uint8_t {
  kTensor,
  kTensorList,
  kInt,
  kIntList,
  kFloat,
  kBool,
  kStr,
  kScalarType,
  kScalar,  // SymInt, double or bool: the value's kind matters (bf16 tensor + 2 stays bf16)
};
std::string_view arg_type_name(ArgType t);

struct ArgSpec {
  std::string name;
  ArgType type = ArgType::kTensor;
  bool optional = false;          // `T?`
  bool kwarg_only = false;        // after `*`
  std::optional<int> fixed_len;   // `int[2]`
  bool symint = false;            // spelled `SymInt` (printing only; both are kInt/kIntList)
  std::optional<Value> default_value;  // parsed default ("None", 128, "group", True, f8_e4m3fn)
};

struct ReturnSpec {
  std::string name;  // may be empty
  ArgType type = ArgType::kTensor;
  bool optional = false;
  bool symint = false;
  std::optional<int> fixed_len;
};

// The type as written in a schema: "Tensor?", "int[2]", "SymInt[]".
std::string type_str(ArgType t, bool optional, std::optional<int> fixed_len = std::nullopt,
                     bool symint = false);

struct Schema {
  std::string name;
  std::vector<ArgSpec> args;
  std::vector<ReturnSpec> returns;
  std::string text;  // the original string

  // Throws diag::Error (code "schema") with the column of the error.
  static Schema parse(std::string_view text);
  std::optional<std::size_t> index_of(std::string_view arg) const;
  std::string str() const;  // canonical re-print
};

}  // namespace symtrace::op
