// Private: the quantization_config parser on an already parsed JSON object (hf_config.cpp
// hands it the object inside config.json).
#pragma once

#include <symtrace/model/quant_config.hpp>

#include "model/json_read.hpp"

namespace symtrace::model::detail {

QuantConfig parse_quant_config(const ObjectReader& r);

}  // namespace symtrace::model::detail
