//===- Winograd.h - the transforms of tern.winograd_conv --------*- C++ -*-===//
//
// Winograd's minimal filtering F(m x m, 3 x 3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): an output tile of
// m x m of a 3 x 3 correlation is
//
//   Y = A^T [ (G g G^T) . (B^T d B) ] A
//
// for d the (m + 2) x (m + 2) input tile starting at the output tile's
// corner and g the 3 x 3 filter ('.' elementwise). With G g G^T computed
// at compile time, each tile costs (m + 2)^2 multiplies per input and
// output channel pair instead of 9 m^2: 2.25x fewer for m = 2, 4x for
// m = 4. Points 0, +-1 (m = 2) and 0, +-1, +-2 and infinity (m = 4), whose
// transforms stay accurate in f32.
//
// tern-winograd-conv transforms the filters; the lowering of
// tern.winograd_conv applies B^T . B and A^T . A.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_DIALECT_WINOGRAD_H
#define TERN_DIALECT_WINOGRAD_H

#include <cstdint>
#include <optional>

namespace tern::winograd {

/// The matrices of F(m x m, 3 x 3), row-major: B^T [alpha][alpha], G
/// [alpha][3], A^T [m][alpha], alpha = m + 2.
struct Matrices {
  int64_t m, alpha;
  const double *bt, *g, *at;
};

inline std::optional<Matrices> matricesFor(int64_t m) {
  static constexpr double bt2[] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
  static constexpr double g2[] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
  static constexpr double at2[] = {1, 1, 1, 0, 0, 1, -1, -1};
  static constexpr double bt4[] = {4, 0, -5, 0,  1, 0, 0, -4, -4, 1,  1, 0, 0, 4, -4, -1, 1, 0,
                                   0, -2, -1, 2, 1, 0, 0, 2,  -1, -2, 1, 0, 0, 4, 0,  -5, 0, 1};
  static constexpr double g4[] = {1.0 / 4,  0,         0,          -1.0 / 6, -1.0 / 6, -1.0 / 6,
                                  -1.0 / 6, 1.0 / 6,   -1.0 / 6,   1.0 / 24, 1.0 / 12, 1.0 / 6,
                                  1.0 / 24, -1.0 / 12, 1.0 / 6,    0,        0,        1};
  static constexpr double at4[] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0,
                                   0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};
  if (m == 2)
    return Matrices{2, 4, bt2, g2, at2};
  if (m == 4)
    return Matrices{4, 6, bt4, g4, at4};
  return std::nullopt;
}

} // namespace tern::winograd

#endif // TERN_DIALECT_WINOGRAD_H
