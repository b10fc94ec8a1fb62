#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops::samples {

std::vector<Shape> leading_shapes() { return {{}, {7}, {1, 5}, {3, 5}, {2, 1, 3}}; }

Shape append(Shape lead, std::int64_t last) {
  lead.push_back(last);
  return lead;
}

Shape concat(Shape a, const Shape& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Tensor random(const Shape& sizes, DType dtype, std::uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(sizes, dtype);
  if (dtype == DType::kBool) {
    t.fill_random(seed, 0.f, 2.f);  // rounds to 0/1
  } else {
    t.fill_random(seed, lo, hi);
  }
  return t;
}

Tensor random_layout(const Shape& sizes, DType dtype, std::uint64_t seed, Layout layout, float lo,
                     float hi) {
  const std::size_t r = sizes.size();
  switch (layout) {
    case Layout::kContiguous: break;
    case Layout::kTransposed:
      if (r >= 2) {
        Shape swapped = sizes;
        std::swap(swapped[r - 1], swapped[r - 2]);
        return random(swapped, dtype, seed, lo, hi)
            .transpose(static_cast<std::int64_t>(r) - 1, static_cast<std::int64_t>(r) - 2);
      }
      break;
    case Layout::kStrided:
      if (r >= 1) {
        Shape wide = sizes;
        wide[r - 1] = 2 * sizes[r - 1] + 1;
        Tensor w = random(wide, dtype, seed, lo, hi);
        Shape strides = w.strides();
        strides[r - 1] = 2;
        return w.as_strided(sizes, strides, 1);
      }
      break;
    case Layout::kExpanded:
      if (r >= 1) {
        Shape one = sizes;
        one[0] = 1;
        Tensor t = random(one, dtype, seed, lo, hi);
        Shape strides = t.strides();
        strides[0] = 0;
        return t.as_strided(sizes, strides, 0);
      }
      break;
  }
  return random(sizes, dtype, seed, lo, hi);
}

std::string_view layout_name(Layout l) {
  switch (l) {
    case Layout::kContiguous: return "contig";
    case Layout::kTransposed: return "transposed";
    case Layout::kStrided: return "strided";
    case Layout::kExpanded: return "expanded";
  }
  return "?";
}

std::string label(std::string_view prefix, const Shape& s) {
  if (s.empty()) return fmt::format("{}_scalar", prefix);
  return fmt::format("{}_{}", prefix, fmt::join(s, "x"));
}

}  // namespace symtrace::ops::samples
