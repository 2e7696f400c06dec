//===- PointwiseDepthwise.h - bands of tern.pointwise_depthwise_conv -----===//
//
// How tern.pointwise_depthwise_conv's lowering cuts its result: R output
// rows by G channels per iteration, each computing the input rows its taps
// read into a buffer L [G, rows, columns] of its own, on the stack. The
// fusion pass (passes/FusePointwiseDepthwise.cpp) fuses only what has such
// a cut, the lowering (lib/Conversion/TernToLinalg/LowerPointwiseDepthwise.cpp)
// builds it.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_DIALECT_POINTWISEDEPTHWISE_H
#define TERN_DIALECT_POINTWISEDEPTHWISE_H

#include <algorithm>
#include <cstdint>
#include <optional>

namespace tern::bands {

/// The most bytes of each of an iteration's buffers: L, and the expansion's
/// [G, rows x W] where its activation cannot be stored by the matmul kernel
/// straight into L (a Zen 3 core's L2 is 512 KB; the input rows and the
/// weights share it).
constexpr int64_t kBandBytes = 192 * 1024;
// tern-plan-memory puts a loop's temporaries on the stack up to 256 KB each
// and rejects larger ones. (Groups of 48 channels in 256 KB ran no faster
// on mobilenetv2 than 24 in 192 KB.)
static_assert(kBandBytes <= 256 * 1024, "a band's buffers must fit tern-plan-memory's stack temporaries");
/// The most channels per group.
constexpr int64_t kMaxGroup = 24;

/// The window of the depthwise convolution along the rows, and the sizes.
struct Geometry {
  int64_t e, h, w, oh;         // expanded channels, input rows and columns, output rows
  int64_t kh, sh, dh, pt;      // window rows, stride, dilation, top padding
  int64_t columns;             // L's columns: left padding, the row, what the taps read past it
};

/// The geometry of an expansion to `e` channels of an h x w map read by a
/// kh x kw window (strides sh, sw; dilations dh, dw; top and left padding
/// pt, pl) into oh x ow.
inline Geometry geometryOf(int64_t e, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t kh, int64_t kw,
                           int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl) {
  int64_t columns = pl + w + std::max<int64_t>(0, sw * (ow - 1) + dw * (kw - 1) + 1 - pl - w);
  return Geometry{e, h, w, oh, kh, sh, dh, pt, columns};
}

/// A cut: R output rows by G channels per iteration.
struct Bands {
  int64_t rows = 0, group = 0;
  /// Padded input rows a band's taps read; of them the rows computed (all,
  /// unless the image is shorter).
  int64_t inRows = 0, computed = 0;
  /// L's margins above and below the inRows rows: a band at the image's
  /// edge computes its rows shifted into the image.
  int64_t marginTop = 0, marginBottom = 0;
  /// Rows of L zero-filled at the top and bottom of the inRows rows.
  int64_t zeroTop = 0, zeroBottom = 0;
  int64_t lRows() const { return marginTop + inRows + marginBottom; }
};

/// Bands of `rows` output rows (dividing OH) and `group` channels.
inline Bands bandsOf(const Geometry &g, int64_t rows, int64_t group) {
  Bands b;
  b.rows = rows;
  b.group = group;
  b.inRows = g.sh * (rows - 1) + g.dh * (g.kh - 1) + 1;
  b.computed = std::min(b.inRows, g.h);
  for (int64_t band = 0; band < g.oh / rows; ++band) {
    int64_t top = band * rows * g.sh - g.pt;
    int64_t first = std::clamp<int64_t>(top, 0, g.h - b.computed);
    int64_t shift = first - top;
    b.marginTop = std::max(b.marginTop, -shift);
    b.marginBottom = std::max(b.marginBottom, shift + b.computed - b.inRows);
    b.zeroTop = std::max(b.zeroTop, std::min(b.inRows, -top));
    b.zeroBottom = std::max(b.zeroBottom, std::min(b.inRows, top + b.inRows - g.h));
  }
  return b;
}

inline bool fits(const Geometry &g, const Bands &b) {
  return b.group * b.lRows() * g.columns * 4 <= kBandBytes && b.group * b.computed * g.w * 4 <= kBandBytes;
}

/// The group: the largest divisor of E up to kMaxGroup; the band: the most
/// output rows dividing OH whose buffers fit kBandBytes. Nothing when E has
/// no divisor from 4 to kMaxGroup (a group would feed the matmul kernel too
/// few rows) or even one row of a group does not fit.
inline std::optional<Bands> chooseBands(const Geometry &g) {
  if (g.e < 1 || g.oh < 1 || g.h < 1 || g.kh < 1 || g.sh < 1 || g.dh < 1)
    return std::nullopt;
  int64_t group = std::min(g.e, kMaxGroup);
  while (g.e % group)
    --group;
  if (group < 4)
    return std::nullopt;
  for (int64_t rows = g.oh; rows >= 1; --rows) {
    if (g.oh % rows)
      continue;
    Bands b = bandsOf(g, rows, group);
    if (fits(g, b))
      return b;
  }
  return std::nullopt;
}

} // namespace tern::bands

#endif // TERN_DIALECT_POINTWISEDEPTHWISE_H
