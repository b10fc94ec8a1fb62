// Reference kernels of sum, mean, amax and argmax: one pass over x in f64.
#include <cmath>
#include <limits>

#include "ops/reduce/reduce.hpp"

namespace symtrace::ops::reduce_detail {

void reference(Kind kind, const Tensor& x, const std::optional<std::vector<std::int64_t>>& dims,
               Tensor& y) {
  const std::int64_t rank = x.dim();
  std::vector<bool> red(static_cast<std::size_t>(std::max<std::int64_t>(rank, 1)), !dims || dims->empty());
  if (dims)
    for (std::int64_t d : *dims) red[static_cast<std::size_t>(d < 0 ? d + std::max<std::int64_t>(rank, 1) : d)] = true;
  const std::vector<double> X = nn::read_f64(x);
  const auto n_out = static_cast<std::size_t>(y.numel());
  std::vector<double> acc(n_out, kind == Kind::kAmax || kind == Kind::kArgmax
                                     ? -std::numeric_limits<double>::infinity() : 0.0);
  std::vector<double> arg(n_out, -1), count(n_out, 0);
  // Output index of element i: drop the reduced dims from its multi-index (row-major).
  std::vector<std::int64_t> idx(static_cast<std::size_t>(rank), 0);
  for (std::size_t i = 0; i < X.size(); ++i) {
    std::size_t o = 0;
    for (std::int64_t d = 0; d < rank; ++d)
      if (!red[static_cast<std::size_t>(d)]) o = o * static_cast<std::size_t>(x.size(d)) + static_cast<std::size_t>(idx[static_cast<std::size_t>(d)]);
    const double v = X[i];
    switch (kind) {
      case Kind::kSum:
      case Kind::kMean:
        acc[o] += v;
        count[o] += 1;
        break;
      case Kind::kAmax:
        if (std::isnan(v) || v > acc[o] || std::isnan(acc[o])) acc[o] = std::isnan(acc[o]) ? acc[o] : v;
        break;
      case Kind::kArgmax: {
        // The position within the reduced dims (the flat index when every dim is reduced).
        double pos = 0;
        for (std::int64_t d = 0; d < rank; ++d)
          if (red[static_cast<std::size_t>(d)]) pos = pos * static_cast<double>(x.size(d)) + static_cast<double>(idx[static_cast<std::size_t>(d)]);
        const bool take = arg[o] < 0 || (!std::isnan(acc[o]) && (std::isnan(v) || v > acc[o]));
        if (take) {
          acc[o] = v;
          arg[o] = pos;
        }
        break;
      }
    }
    for (std::int64_t d = rank - 1; d >= 0; --d) {  // next multi-index
      if (++idx[static_cast<std::size_t>(d)] < x.size(d)) break;
      idx[static_cast<std::size_t>(d)] = 0;
    }
  }
  if (kind == Kind::kMean)
    for (std::size_t o = 0; o < n_out; ++o) acc[o] = count[o] > 0 ? acc[o] / count[o] : std::nan("");
  nn::write_f64(y, kind == Kind::kArgmax ? arg : acc);
}

}  // namespace symtrace::ops::reduce_detail
