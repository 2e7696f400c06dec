//===- MatchContraction.h - contractions the matmul kernels take -*- C++ -*-===//
//
// What tern-vectorize-contractions recognizes before it builds a kernel: a
// linalg op on buffers computing C += A * B (float, i32, widened bytes, or
// block-dequantized B), its loop dims and maps (Contraction), the
// elementwise op after it that the kernel applies in registers (Epilogue),
// and how C was set before it (Init).
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CODEGEN_MATCHCONTRACTION_H
#define TERN_CODEGEN_MATCHCONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include <optional>

namespace tern {

/// The loop dims of a contraction and the operands' maps.
struct Contraction {
  unsigned n;
  /// C's dims besides n that B does not read (the kernel's rows, flattened),
  /// C's dims besides n that B reads (looped over), and the reduction dims
  /// in the order B stores them.
  llvm::SmallVector<unsigned> ms, batch, ks;
  mlir::AffineMap aMap, bMap, cMap;
  mlir::Value a, b, c;
  /// B is read as B[n, k...] (transposed weights, convolution filters);
  /// only packed B can be.
  bool bTransposed = false;
  /// A and B are bytes widened to C's i32 in the body (extui/extsi): the
  /// integer matmuls of quantized models. B must then be a constant, packed
  /// widened to i32, or as bytes for dot-product instructions.
  bool bytes = false;
  bool aUnsigned = false, bUnsigned = false;
  /// With `bytes`: the widths widened, 8 or 16 (tern-int16-activations'
  /// 16-bit activations and weights; those go to 16-bit pairs only).
  unsigned aBits = 0, bBits = 0;
  /// B is block-quantized: each weight is q * scale + offset, q an unsigned
  /// byte of B, scale and offset per block of `block` k and per column
  /// ([k / block, n] constants): MatMulNBits' weights. All three are packed;
  /// the kernel dequantizes in registers.
  bool dequant = false;
  mlir::Value scale, offset;
  int64_t block = 0;
  /// A dequantized contraction may quantize A to int8 (per row and block
  /// of k) and multiply on the 8-bit dot-product units: the op carries
  /// kInt8ActivationsAttr (MatMulNBits with accuracy_level 4).
  bool int8Activations = false;
};

/// The unit attribute on a block-dequantized contraction (linalg.generic)
/// that lets its kernel quantize the activations to int8.
inline constexpr llvm::StringLiteral kInt8ActivationsAttr = "tern.int8_activations";

/// Matches out += in0 * in1 on f32 or i32 buffers (also bytes widened in
/// the body, and block-dequantized B): C[batch.., m.., n] with B reading n,
/// A not.
std::optional<Contraction> matchContraction(mlir::linalg::LinalgOp op);

/// The element types the kernels compute in: f32 (FMAs) and i32 (integer
/// multiply-adds).
bool isKernelElement(mlir::Type t);

/// Does `map` read loop dim `d` directly?
bool usesDim(mlir::AffineMap map, unsigned d);

/// Can the kernel read 32-bit `mem` through `map` per vector of C along
/// loop `last`: as a vector (map's last result is `last`, unit stride) or as
/// one value broadcast (the map does not read `last`)?
bool readablePerVector(mlir::Value mem, mlir::AffineMap map, unsigned last);

/// Does A run along the (one) reduction dim with unit stride, so that
/// consecutive k are consecutive elements?
bool readsAlongK(const Contraction &c);

/// The elementwise op after a contraction that reads its result, applied to
/// the accumulators before they are stored (an epilogue: bias, activation,
/// residual add).
struct Epilogue {
  mlir::linalg::GenericOp op;
  unsigned cInput = 0;
  /// C's dims -> the epilogue's loops (C read through an expand_shape).
  llvm::SmallVector<mlir::ReassociationIndices> groups;
  mlir::Value expanded; ///< what the epilogue reads C as
  /// C is read by something else as well and still needs storing.
  bool storeC = false;
  /// C's n expands into several dims (a convolution's positions into rows
  /// of an image) whose innermost, `rowLength` long, is not a whole number
  /// of vectors, and the output is not contiguous across them (the
  /// interior of a padded image): a vector of C may end one row and start
  /// the next, and is stored as one masked store per row it touches.
  int64_t rowLength = 0;
};

/// The epilogue of contraction `op` writing `c.c`, if one can be fused
/// into a kernel of vectors of `vl` lanes.
std::optional<Epilogue> findEpilogue(mlir::Operation *op, const Contraction &c, int64_t vl);

/// How C is set just before the contraction, when the kernel can start its
/// accumulators from it instead: a constant (a fill, or a copy from a buffer
/// filled with one: CSE shares zero-filled inits), or a broadcast of a bias
/// (a generic copying its one input into C along a projected map). The op
/// that set C then goes.
struct Init {
  mlir::Value constant;
  mlir::linalg::GenericOp broadcast;
  mlir::Operation *setter = nullptr;
};

/// How C is set just before contraction `op` (see Init); empty if the
/// kernel must read C.
Init initOf(mlir::Operation *op, const Contraction &c);

} // namespace tern

#endif
