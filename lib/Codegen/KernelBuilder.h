//===- KernelBuilder.h - the register-blocked contraction kernel -*- C++ -*-===//
//
// tern-vectorize-contractions' kernel (the design: VectorizeContractions.cpp):
// a KernelBuilder replaces one matched contraction by its panels, rows and
// reduction loops. The general kernel (panels, rows, the k loop over B's
// vectors, the epilogue and stores) is in KernelBuilder.cpp; the k loops
// for B packed other than as plain vectors (block-dequantized, int8 x
// int4, dot products, i16 pairs, 2:4 sparse) in KernelReductions.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CODEGEN_KERNELBUILDER_H
#define TERN_CODEGEN_KERNELBUILDER_H

#include "lib/Codegen/MatchContraction.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include <optional>
#include <string>

namespace tern {

class KernelBuilder {
public:
  /// `dotIntrinsic`: the LLVM intrinsic of the u8 x s8 dot product when B
  /// is packed in groups of 4 bytes (Packing::Groups4), else empty.
  KernelBuilder(mlir::OpBuilder &b, mlir::Location loc, const Contraction &c, int64_t vl, int64_t vectors,
                mlir::Value packedB, llvm::StringRef dotIntrinsic, const Init &init,
                const std::optional<Epilogue> &epilogue)
      : b(b), loc(loc), c(c), vl(vl), vectors(vectors), packedB(packedB), dotIntrinsic(dotIntrinsic), init(init),
        epilogue(epilogue), vecType(mlir::VectorType::get({vl}, mlir::getElementTypeOrSelf(c.c.getType()))) {}

  /// B's packed block scales and offsets (c.dequant); `halves`: B is
  /// packed as nibbles (Packing::Nibbles).
  void setDequantization(mlir::Value scale, mlir::Value offset, bool halves) {
    packedScale = scale;
    packedOffset = offset;
    nibbles = halves;
  }

  /// The dequantized B is packed as Packing::Nibbles4 and A is quantized
  /// to int8 per row and block before the kernel runs: the products run on
  /// `intrinsic` (u8 x s8 dot products of 4 bytes per i32 lane: x86's
  /// vpdpbusd, AArch64's usdot), see int8Reduce.
  /// With `widen` (x86 without VNNI), `intrinsic` is pmaddubsw (pairs of
  /// u8 x s8 products summed in i16: exact for 4-bit weights, 2 x 15 x 127
  /// at most) and `widen` pmaddwd against ones, which sums the pairs into
  /// the same 4 products per i32 lane.
  void setInt8Activations(llvm::StringRef intrinsic, llvm::StringRef widen = "") {
    int8Dot = intrinsic.str();
    int8DotWiden = widen.str();
  }

  /// The dequantized B (f32 products) runs against many rows: each panel's
  /// weights are dequantized once, into a stack buffer of k x panel width
  /// f32, which the plain kernel then reads for every tile of rows
  /// (dequantizePanel). `ifMany`: the number of rows is known at run time
  /// only; each task checks it (at least twice the kernel's rows) and runs
  /// the per-tile dequantization otherwise.
  void setDequantizePanels(bool ifMany) { dequantizePanels = ifMany ? PanelDequant::IfMany : PanelDequant::Always; }

  /// A float B read where it lies (activations: a pointwise convolution's
  /// input, each k a plane apart) is copied panel by panel into a stack
  /// buffer of k x panel width before the panel's tiles of rows read it,
  /// where enough tiles share a panel (see build): its k rows then lie in
  /// consecutive lines of a few pages, not one page each.
  void setCopyPanels() { copyPanels = true; }

  /// B is 2:4 sparse, packed as `values` and `positions`
  /// (WeightPacker::packSparse24); `permute` is the LLVM intrinsic of the
  /// lane permute (a vector of f32, indices of i32).
  void setSparse(mlir::Value values, mlir::Value positions, llvm::StringRef permute) {
    sparseValues = values;
    sparseIndices = positions;
    permuteIntrinsic = permute.str();
  }

  /// B is packed as i16 pairs (Packing::Pairs2) for `intrinsic`, x86's
  /// pmaddwd at the vector width.
  /// `accumulates`: the intrinsic adds the products to its first operand
  /// (vpdpwssd), else they are added after (pmaddwd).
  void setPairs(llvm::StringRef intrinsic, bool accumulates) {
    maddIntrinsic = intrinsic.str();
    maddAccumulates = accumulates;
  }

  /// The dot intrinsic multiplies s8 by s8 (AArch64's sdot without usdot):
  /// A's u8 are shifted to s8 (a - 128, a flip of the top bit), and
  /// 128 * sum_k B, accumulated on the side with the same instruction
  /// (a dot of B with ones), is added back at the end.
  void setSignedDot() { signedDot = true; }

  /// B was block-pruned: `packedB` holds each panel's `kept` non-zero rows,
  /// `indices` ([panels][kept] i32) their k.
  void setRowSparse(mlir::Value indices, int64_t kept) {
    rowIndices = indices;
    keptRows = kept;
  }

  /// Replaces the contraction, whose loop sizes are `sizes`.
  void build(llvm::ArrayRef<mlir::Value> sizes, int64_t rows);
  /// Erases the window gather widenA read through (once the contraction,
  /// its only reader, is gone).
  void eraseFusedGather();

private:
  mlir::Value index(int64_t v);

  /// The plain kernel: f32 products of B read as vectors, no reduction of
  /// its own.
  bool plainFloat() const;

  /// `e` at the loop position `at`.
  mlir::Value evaluate(mlir::AffineExpr e, llvm::ArrayRef<mlir::Value> at);

  /// The indices of an operand with map `map` at the loop position `at`.
  llvm::SmallVector<mlir::Value> indices(mlir::AffineMap map, llvm::ArrayRef<mlir::Value> at);

  /// One panel: flattened rows [from, to) in steps of `rows`, then the
  /// rows left: one kernel of as many rows when the rows are counted at
  /// compile time (the chunks start at multiples of `rows`), else one at a
  /// time.
  void panel(llvm::SmallVector<mlir::Value> at, mlir::Value from, mlir::Value to, int64_t rows,
             llvm::ArrayRef<mlir::Value> masks);
  void panelRows(llvm::SmallVector<mlir::Value> at, mlir::Value from, mlir::Value to, int64_t rows,
                 llvm::ArrayRef<mlir::Value> masks);

  /// A parallel loop over A's flattened rows; `body` gets a row and its
  /// loop position.
  void forEachRow(mlir::Value rows, llvm::function_ref<void(mlir::Value, llvm::SmallVector<mlir::Value>)> body);

  /// `at` with the m dims set from the flattened row `row`.
  llvm::SmallVector<mlir::Value> atRow(llvm::SmallVector<mlir::Value> at, mlir::Value row);

  /// Loops over the reduction dims (outermost first), carrying `accs`;
  /// `body` computes the next accumulators at the innermost position.
  llvm::SmallVector<mlir::Value>
  reduce(llvm::SmallVector<mlir::Value> at, unsigned level, mlir::ValueRange accs, mlir::Value flatK,
         llvm::function_ref<llvm::SmallVector<mlir::Value>(llvm::ArrayRef<mlir::Value>, mlir::Value, mlir::ValueRange)>
             body);

  /// The reduction of a kernel with fewer accumulators than the FMAs in
  /// flight need (kLatencyAccumulators: the rows left after whole tiles,
  /// one row of two vectors), one k dim: k dealt round-robin to up to 4
  /// sets of accumulators (chains of FMAs that do not wait on each other),
  /// summed at the end; `step` as in reduce.
  llvm::SmallVector<mlir::Value>
  interleaved(llvm::SmallVector<mlir::Value> at, llvm::SmallVector<mlir::Value> accs,
              llvm::function_ref<llvm::SmallVector<mlir::Value>(llvm::ArrayRef<mlir::Value>, mlir::Value,
                                                                mlir::ValueRange)>
                  step);

  /// The panel's v-th vector of weights q at `k`, as f32: a byte each, or
  /// (nibbles) the low halves of the panel's first vectors' bytes and the
  /// high halves of its last ones'.
  mlir::Value weightsAt(mlir::Value k, int64_t v);

  /// Block `blk`'s scales or offsets (`packed`: packedScale or
  /// packedOffset) for the panel's v-th vector, as f32.
  mlir::Value blockParam(mlir::Value packed, mlir::Value blk, int64_t v);

  /// The current panel's weights q * s + z (q from the nibble or byte
  /// panels, s and z per block) into `panelB` [k][vectors x VL] f32, a
  /// stack buffer of the task: once per panel instead of once per tile of
  /// rows.
  void dequantizePanel();

  /// A (`rows` flattened rows, one reduction dim of static size, a whole
  /// number of blocks) quantized for int8Reduce, block by block of c.block
  /// k: d = max |a| / 127, q = round(a / d) as i8 [rows, k], and per row
  /// and block d and the block's sum of a ([rows, blocks] f32). Runs once,
  /// before the kernel's parallel loop, itself parallel over the rows.
  void quantizeA(mlir::Value rows, std::optional<int64_t> staticRows);

  /// A's bytes (`rows` flattened rows, a static count, no batch dims, one
  /// reduction dim of static size k) widened to i16 [rows, k rounded up to even] for
  /// pairReduce, zero-padded: once, before the kernel's parallel loop,
  /// itself parallel over the rows. The kernel then broadcasts each pair
  /// with one load instead of widening it per row and panel. A gathered
  /// from a window just before (an int8 convolution's patches) is read
  /// from the gather's source instead: the patches are never written.
  void widenA(mlir::Value rows, std::optional<int64_t> staticRows);
  /// The copy that gathers A from a window, when widenA can read through it.
  mlir::Operation *windowGather() const;

  /// A stored as x[k][m] (`m` rows, `k` static, m with unit stride: a
  /// pointwise convolution's input planes with positions as rows) copied
  /// into `packedA` [tiles of `rows` rows][k][kPackedRowsWidth]: each tile
  /// of rows then reads one stream of 32 bytes per k, not a cache line per
  /// k (as x[k][m] is read) that later tiles of rows find evicted. Once,
  /// before the kernel's parallel loop, itself parallel over the tiles.
  /// Rows over two dims (images counted at run time, then positions:
  /// x[image][k][m]) are numbered across the images as the kernel counts
  /// them, `m` the total (a value), `inner` the positions per image; a
  /// tile that straddles two images is gathered a lane at a time.
  void packA(mlir::Value m, std::optional<int64_t> staticM, int64_t inner, int64_t k, int64_t rows);

  /// The reduction of a block-dequantized B (nibbles, Packing::Nibbles4)
  /// with A quantized by quantizeA, rows `row0` + r for r < `rowCount`:
  /// per block, sum_k a_k (q_k s + z) = s d sum_k qa_k q_k + z sum_k a_k,
  /// the integer sum on dot-product instructions (per 4 k, each row's 4
  /// bytes of qa broadcast as one i32 against the 4 x VL nibbles of B per
  /// vector, low halves for the panel's first vectors, high for the
  /// others), then converted and scaled once per block: two FMAs per
  /// accumulator.
  llvm::SmallVector<mlir::Value> int8Reduce(mlir::Value row0, int64_t rowCount, llvm::SmallVector<mlir::Value> accs);

  /// C[row i0 + r, at.n + v*VL] += sum_k A[.., k] * B[k, ..] for r < rows.
  void kernel(llvm::SmallVector<mlir::Value> at, mlir::Value i0, int64_t rows, llvm::ArrayRef<mlir::Value> masks);

  /// The reduction of a block-dequantized B (c.dequant, one reduction dim
  /// of static size), block by block (c.block k; a last partial block if
  /// k % c.block), each weight q * s + z with the block's s and z per
  /// column, loaded once per block. Several rows share each k's
  /// dequantization (one FMA per vector) and then an FMA per row. One row
  /// factors the scale out instead:
  ///
  ///   sum_k a_k (q_k s + z) = s * sum_k a_k q_k + z * sum_k a_k:
  ///
  /// per k it multiplies A's value by the raw q (converted to float) into
  /// block accumulators and sums A; at the end of the block two FMAs per
  /// accumulator apply s and z. It interleaves 4 chains of k (its few
  /// accumulators would wait on each FMA's latency).
  llvm::SmallVector<mlir::Value> blockReduce(llvm::ArrayRef<llvm::SmallVector<mlir::Value>> rowAt,
                                             llvm::SmallVector<mlir::Value> accs);

  /// The reduction of a 2:4-sparse B (one reduction dim of static size, A
  /// running along it with unit stride), a group of 4 k per step: each
  /// vector's two slots of values and the 2-bit positions of them (a byte
  /// per lane for two vectors, widened to i32 and shifted: the permute
  /// reads only each index's low bits, and A's 4 values repeat in every
  /// 128-bit lane, so bits above the first 2 select among equal copies). Per
  /// row A's 4 values are broadcast to every 128-bit lane, permuted per
  /// slot and multiplied into the accumulators. With one row, slot 1 sums
  /// apart (two chains of FMAs). The last k % 4 values of A are read masked
  /// (their packed values are 0).
  llvm::SmallVector<mlir::Value> sparseReduce(llvm::ArrayRef<llvm::SmallVector<mlir::Value>> rowAt,
                                              llvm::SmallVector<mlir::Value> accs);

  /// The reduction on dot-product instructions (c.bytes, u8 A x s8 B, one
  /// reduction dim k along which A runs with unit stride; B packed in groups
  /// of 4 along k): per 4 k, each row's 4 bytes of A are broadcast as one
  /// i32 and multiplied with the panel's 4 x VL bytes of B per vector, the
  /// 4 products summed into each i32 lane. The last k % 4 bytes of a row
  /// are read masked (B's padding there is 0).
  llvm::SmallVector<mlir::Value> dotReduce(llvm::ArrayRef<llvm::SmallVector<mlir::Value>> rowAt,
                                           llvm::SmallVector<mlir::Value> accs);

  /// The reduction on 16-bit multiply-adds (c.bytes without dot-product
  /// units, A running along its one reduction dim with unit stride; B packed
  /// as i16 pairs along k, Packing::Pairs2): per 2 k, each row's 2 bytes of A
  /// are widened to i16 and broadcast as one i32, and pmaddwd multiplies
  /// them with the panel's 2 x VL values of B per vector, summing each
  /// lane's 2 products into i32 (exact: bytes times bytes fit i16 pairs
  /// summed in i32), added to the accumulators. A last odd k is read
  /// masked.
  llvm::SmallVector<mlir::Value> pairReduce(mlir::Value row0, llvm::ArrayRef<llvm::SmallVector<mlir::Value>> rowAt,
                                            llvm::SmallVector<mlir::Value> accs);

  /// Runs `step` (group of `size` k, accumulators, whether it is the
  /// partial last group) over k / size groups in a loop, then once more for
  /// a last partial group.
  llvm::SmallVector<mlir::Value>
  byGroups(int64_t k, int64_t size, llvm::SmallVector<mlir::Value> accs,
           llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value, mlir::ValueRange, bool)> step);

  /// A's `n` consecutive elements of type `elem` at `idx` (along k), those
  /// past the end of a partial last group read as 0.
  mlir::Value readGroup(mlir::Type elem, int64_t n, mlir::ValueRange idx, bool tail);

  /// A vector of `mem` at `idx`, masked on the last panel.
  mlir::Value loadVector(mlir::Value mem, mlir::ValueRange idx, llvm::ArrayRef<mlir::Value> masks, int64_t v);

  /// `mem` read through `map` at loop position `at` for the v-th vector of a
  /// row of C: a vector when the map reads the last loop (C's n), else one
  /// value broadcast (see readablePerVector).
  mlir::Value readOperand(mlir::Value mem, mlir::AffineMap map, llvm::ArrayRef<mlir::Value> at,
                          llvm::ArrayRef<mlir::Value> masks, int64_t v);

  void store(mlir::Value value, mlir::Value mem, mlir::ValueRange idx, llvm::ArrayRef<mlir::Value> masks, int64_t v);

  /// Computes the epilogue's body on the accumulator `acc` (at C indices
  /// `cIdx`) and stores its result.
  void applyEpilogue(mlir::Value acc, llvm::ArrayRef<mlir::Value> cIdx, llvm::ArrayRef<mlir::Value> masks, int64_t v);

  mlir::OpBuilder &b;
  mlir::Location loc;
  const Contraction &c;
  int64_t vl, vectors;
  mlir::Value packedB, panelIndex;
  mlir::Value packedScale, packedOffset;   ///< c.dequant: B's packed block scales and offsets
  mlir::Value sparseValues, sparseIndices; ///< a 2:4-sparse B's packed values and positions
  mlir::Value rowIndices;                  ///< a block-pruned B's kept rows per panel
  std::string maddIntrinsic;               ///< B packed as i16 pairs for pmaddwd
  bool maddAccumulates = false;            ///< maddIntrinsic adds to an accumulator (vpdpwssd)
  int64_t keptRows = 0;
  /// C's flattened rows, when static; n known to be one panel at most.
  std::optional<int64_t> staticRows;
  bool onePanel = false;
  /// k cut into blocks of kBlock (0: not cut) of the kSize in all, the
  /// current one from kBlockStart (see build).
  int64_t kBlock = 0, kSize = 0;
  mlir::Value kBlockStart;
  std::string permuteIntrinsic;
  bool nibbles = false;
  std::string int8Dot; ///< A quantized to int8 for this dot product (int8Reduce)
  std::string int8DotWiden; ///< int8Dot is pmaddubsw, its pairs summed by this pmaddwd
  enum class PanelDequant { Never, Always, IfMany };
  PanelDequant dequantizePanels = PanelDequant::Never;
  bool copyPanels = false;
  /// B's panel at `at` (masked on the last panel) into `panelB`.
  void copyPanel(llvm::ArrayRef<mlir::Value> at, llvm::ArrayRef<mlir::Value> masks);
  mlir::Value panelB;                                  ///< the current panel's dequantized weights (dequantizePanel)
  mlir::Value quantized, quantizedScale, quantizedSum; ///< quantizeA's buffers
  mlir::Value widened;                                ///< widenA's buffer
  mlir::Operation *fusedGather = nullptr;             ///< the gather widenA read through
  mlir::Value packedA;                                 ///< packA's buffer
  int64_t packedRows = 0;                              ///< rows per tile of packedA
  static constexpr int64_t kPackedRowsWidth = 8;       ///< packedA's tile width (floats)
  static constexpr int64_t kCopiedPanelBytes = 32 * 1024; ///< the most of B's panel copyPanel copies (L1)
  /// B's k rows spanning more bytes than this are copied (64 pages: the L1 TLB).
  static constexpr int64_t kCopiedSpanBytes = 256 * 1024;
  /// Accumulators that keep the FMA units busy: two FMAs a cycle, each
  /// waiting 4 cycles on the last (x86's and Neoverse's latency).
  static constexpr int64_t kLatencyAccumulators = 8;
  std::string dotIntrinsic;
  bool signedDot = false;
  llvm::SmallVector<mlir::Value> sizes;
  const Init &init;
  const std::optional<Epilogue> &epilogue;
  llvm::SmallVector<mlir::Value> epilogueSizes;
  mlir::VectorType vecType;
};

} // namespace tern

#endif
