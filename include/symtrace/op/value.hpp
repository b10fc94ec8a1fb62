// op::Value — one argument or result of an op call, on either interpretation:
// TensorMeta on the fake side, Tensor on the real side; scalars are shared.
#pragma once

#include <string>
#include <vector>

#include <boost/variant2/variant.hpp>

#include <symtrace/sym/sym_int.hpp>
#include <symtrace/tensor/dtype.hpp>
#include <symtrace/tensor/tensor.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::op {

using sym::SymInt;
using tensor::DType;
using tensor::Tensor;
using tensor::TensorMeta;

struct None {
  friend bool operator==(None, None) { return true; }
};

// `int`/`SymInt` schema arguments are SymInt (concrete on the real side); `int[]` is a
// vector of SymInt so view sizes can be symbolic at trace time.
using Value = boost::variant2::variant<None, TensorMeta, Tensor, std::vector<TensorMeta>,
                                       std::vector<Tensor>, SymInt, std::vector<SymInt>, double,
                                       bool, std::string, DType>;

std::string value_str(const Value& v);  // for messages: "bf16[B, S, 4096]", "128", "None"

}  // namespace symtrace::op
