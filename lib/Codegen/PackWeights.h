//===- PackWeights.h - constant matmul weights packed into panels -*- C++ -*-===//
//
// tern-vectorize-contractions' kernels stream a constant B panel by panel:
// the weights are rewritten at compile time, into new globals, in the order
// and element form the kernel reads (see Packing).
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CODEGEN_PACKWEIGHTS_H
#define TERN_CODEGEN_PACKWEIGHTS_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"

namespace tern {

/// How B is packed for the kernel.
enum class Packing {
  Move,    ///< 32-bit elements moved into panels
  Widen,   ///< bytes widened to i32 (signed or not as the contraction says)
  Groups4, ///< bytes in groups of 4 along k: [panels][k / 4][columns][4]
  Nibbles, ///< values below 16, two per byte: [panels][k][columns / 2], byte r
           ///< holding column r (low half) and column r + columns / 2 (high)
  Pairs2,  ///< bytes widened to i16 in pairs along k: [panels][k / 2][columns][2]
  Nibbles4, ///< values below 16 in groups of 4 along k, two per byte:
            ///< [panels][k / 4][columns / 2][4], byte (r, t) holding column r
            ///< (low half) and column r + columns / 2 (high) at k 4 * k4 + t
  Half,     ///< f32 moved into panels as f16 (block scales); only when every
            ///< value is 0 or in f16's normal range
};

/// A 2:4-sparse B packed for the sparse kernel: the non-zeros and their
/// positions (see WeightPacker::packSparse24).
struct SparsePanels {
  mlir::MemRefType valuesType;
  mlir::StringAttr values;
  mlir::MemRefType indicesType;
  mlir::StringAttr indices;
};

/// A B whose panels each have few non-zero rows, packed for the kernel
/// that skips the others (see WeightPacker::packRowSparse).
struct RowSparsePanels {
  mlir::MemRefType valuesType;
  mlir::StringAttr values;
  mlir::MemRefType indicesType;
  mlir::StringAttr indices;
  int64_t rows = 0; ///< rows kept per panel
};

/// Packs constant matrices ([k, n], or [n, k...] when transposed) into
/// panels [ceil(n / width)][k][width] (or the Packing's variant),
/// zero-padded: one new global per matrix, width, orientation and layout.
class WeightPacker {
public:
  explicit WeightPacker(mlir::ModuleOp module) : module(module), symbols(module) {}

  /// The packed global's type and name, or nothing if `matrix` is not a
  /// (reshaped) constant global whose elements suit `how` (`isUnsigned`:
  /// how bytes widen).
  std::optional<std::pair<mlir::MemRefType, mlir::StringAttr>> pack(mlir::Value matrix, bool transposed,
                                                                    bool isUnsigned, int64_t width, Packing how);

  /// A constant f32 matrix with at most 2 non-zeros in every 4 along k
  /// (2:4 sparse), packed for a kernel of `vectors` (even) vectors of `vl`
  /// lanes: per panel and group of 4 k, two rows of values (each column's
  /// non-zeros, in order, 0 where it has fewer) and the 2-bit position of
  /// each within its group, 4 to a byte (vectors 2q and 2q + 1 share the
  /// bytes of pair q); nothing if `matrix` is not such a constant.
  std::optional<SparsePanels> packSparse24(mlir::Value matrix, bool transposed, int64_t vl, int64_t vectors);

  /// A constant f32 matrix whose panels of `width` columns each have at
  /// most `maxShare` of their k rows non-zero (block-pruned weights),
  /// packed as those rows only: values [panels][kept][width] and their k
  /// [panels][kept] (i32), kept the largest count over the panels (shorter
  /// panels padded with zero rows); nothing otherwise.
  std::optional<RowSparsePanels> packRowSparse(mlir::Value matrix, bool transposed, int64_t width, double maxShare);

  /// Erases the globals that were packed and are no longer read.
  void eraseUnused();

private:
  struct Source {
    mlir::memref::GlobalOp global;
    int64_t k = 0, n = 0;
    llvm::ArrayRef<char> data;
    std::vector<char> storage;
  };
  std::optional<Source> source(mlir::Value matrix, bool transposed);
  std::pair<mlir::MemRefType, mlir::StringAttr> addGlobal(mlir::memref::GlobalOp original, llvm::StringRef name,
                                                          mlir::MemRefType type, mlir::AsmResourceBlob blob);

  mlir::ModuleOp module;
  mlir::SymbolTable symbols;
  llvm::DenseMap<std::tuple<mlir::Attribute, int64_t, int64_t, int>, std::pair<mlir::MemRefType, mlir::StringAttr>>
      cache;
  llvm::SetVector<mlir::StringAttr> packedNames;
};

} // namespace tern

#endif
