//===- VectorizeContractions.cpp - register-blocked matmul kernels --------===//
//
// A float contraction C[b.., m.., n] += A[f(m.., k..)] * B[.., k, n] on
// buffers (linalg.matmul, Gemm's and batched matmuls' generics, convolutions
// reading their input in place) becomes a register-blocked kernel: C is
// cut into panels of `vectors` x VL columns, the panels (and batch dims)
// form one scf.parallel the thread pool splits, and each panel runs down its
// rows (the m dims flattened) `rows` at a time. For each k the kernel
// loads the panel's row of B as vectors, broadcasts one element of A per
// row and accumulates rows x vectors FMAs in registers; C is read and
// written once per panel. The last partial panel uses masked loads and
// stores, rows left over from `rows` use a one-row kernel.
//
// C must run along n with unit stride (vector stores); A is read one
// element at a time and may have any layout (a transposed A costs nothing).
// A constant B (weights) is packed at compile time, panel by panel, into
// the order the kernel reads it: [panels][k][panel columns], zero-padded,
// so each panel's B is one contiguous stream and the last panel needs no
// masked loads; a transposed constant B (Gemm's transB, convolution filters
// [F, C, KH, KW] with k = (c, kh, kw)) is packed the same.
// Any other B must run along n with unit stride; read by at least 8 tiles
// of rows (a pointwise convolution's input against its filters) with its
// k rows spanning more than 256 KB, each panel of it is copied once into a
// stack buffer that the tiles read (copy-panels): a 1x1 convolution's k
// rows are planes apart, more pages than the L1 TLB holds (resnet50's 64
// -> 256 over 56 x 56 ran 25% faster).
//
// Integer contractions: i32 C from i32 operands (integer multiply-adds), or
// from bytes widened in the body (out += ext(a) * ext(b), the 8-bit matmuls
// of quantized models) with a constant B: with VNNI (option vnni) and u8 A
// running along k, B is packed in groups of 4 bytes along k and the kernel
// runs on vpdpbusd (AArch64: usdot with FEAT_I8MM), A's 4 bytes broadcast
// as one i32; on x86 without VNNI, B is packed as i16 pairs along k for
// pmaddwd; otherwise B is packed widened to i32 and A widened as read.
// 16-bit A and B (tern-int16-activations) are i16 pairs on x86: vpdpwssd
// with VNNI, else pmaddwd.
//
// Block-dequantized contractions (out += a * (uitofp(q) * s + z), q bytes
// [k, n], s and z per block of k and column: MatMulNBits' weights): q, s and
// z are packed into panels (q two per byte when below 16) and the kernel
// multiplies A by the converted q into block accumulators, applying each
// block's s and z once at its end. Marked kInt8ActivationsAttr
// (MatMulNBits' accuracy_level 4), A is quantized to int8 per row and
// block before the kernel and the 4-bit
// weights, packed in groups of 4 along k, multiply it on the dot-product
// units (vpdpbusd, usdot), 4 rows at a time: decoding a token, the
// weights' bytes, not their conversion to float, then bound the run (the
// block scales and offsets are packed as f16 to shrink those bytes
// further); on a prompt, the products run at four times the FMAs' rate.
//
// This file matches the contractions and chooses how B is packed; the
// kernel is built by KernelBuilder (KernelBuilder.h): the general kernel in
// KernelBuilder.cpp, the k loops over specially packed B in
// KernelReductions.cpp.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "VectorBody.h"
#include "lib/Codegen/KernelBuilder.h"
#include "lib/Codegen/EntryBuffers.h"
#include "lib/Codegen/MatchContraction.h"
#include "lib/Codegen/PackWeights.h"
#include "passes/PatternUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/IR/SymbolTable.h"

namespace tern {
#define GEN_PASS_DEF_TERNVECTORIZECONTRACTIONSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using tern::Contraction;
using tern::Epilogue;
using tern::Init;
using tern::findEpilogue;
using tern::initOf;
using tern::KernelBuilder;
using tern::matchContraction;
using tern::Packing;
using tern::readablePerVector;
using tern::readsAlongK;
using tern::usesDim;

namespace {

/// Rows of A per kernel on int8 dot products of 4-bit weights (int8Reduce):
/// rows x vectors i32 block sums plus as many f32 totals in registers.
constexpr int64_t kInt8Rows = 4;

/// The largest stack buffer of one panel's dequantized weights (k x panel
/// width f32) that a task allocates.
constexpr int64_t kPanelBytes = 256 * 1024;


/// x86's pmaddwd (16-bit pairs multiplied and summed into i32 lanes) at
/// `vectorBits`.
std::string pmaddwdIntrinsic(int64_t vectorBits) {
  return vectorBits == 512 ? "llvm.x86.avx512.pmaddw.d.512"
         : vectorBits == 256 ? "llvm.x86.avx2.pmadd.wd"
                             : "llvm.x86.sse2.pmadd.wd";
}

struct VectorizeContractionsPass : tern::impl::TernVectorizeContractionsPassBase<VectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorBits < 64 || vectorBits % 32 != 0 || rows < 1 || vectors < 1) {
      getOperation().emitError("tern-vectorize-contractions: bad vector-bits, rows or vectors");
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::LinalgOp, Contraction>, 4> found;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (auto c = matchContraction(op))
        found.push_back({op, *c});
    });
    int64_t vl = vectorBits / 32;
    tern::WeightPacker packer(getOperation());
    OpBuilder b(&getContext());
    for (auto &[op, c] : found) {
      // Bytes: u8 x s8 along a k that A stores contiguously go to the dot
      // product instructions; other byte contractions widen B to i32 at
      // compile time and each element of A as it is read.
      // (AArch64's usdot takes the same u8 x s8 groups of 4 on 128 bits.)
      bool dotUnits = vnni || ((usdot || sdot) && vectorBits == 128);
      bool dot = c.bytes && c.aBits == 8 && c.bBits == 8 && dotUnits && c.aUnsigned && !c.bUnsigned &&
                 c.ks.size() == 1 && readsAlongK(c);
      // Without dot products, x86 multiplies bytes widened to i16 pairs
      // (pmaddwd: 2 products per i32 lane) rather than widened to i32.
      bool pairs = c.bytes && !dot && pmaddwd && c.ks.size() == 1 && readsAlongK(c);
      Packing how = !c.bytes ? Packing::Move : dot ? Packing::Groups4 : pairs ? Packing::Pairs2 : Packing::Widen;
      std::optional<std::pair<MemRefType, StringAttr>> packed, scales, offsets;
      // Dequantized 4-bit weights: two per byte where they fit (in groups of
      // 4 along k for int8 dot products: nibbles4).
      bool nibbles = false, nibbles4 = false;
      // Fewer rows than the kernel's (decoding one token): each k step's
      // fixed cost (A's broadcast, the loop, the block's scales) is spread
      // over panels twice as wide.
      int64_t vecs = vectors;
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      int64_t m = 1;
      for (unsigned d : c.ms)
        m = ShapedType::isDynamic(ranges[d]) || ShapedType::isDynamic(m) ? ShapedType::kDynamic : m * ranges[d];
      bool fewRows = !ShapedType::isDynamic(m) && m < rows;
      if (c.dequant && fewRows)
        vecs = 2 * vectors;
      // Dequantized 4-bit weights against rows of A that may be quantized
      // to int8: the products on the 8-bit dot-product units, u8 weights x
      // s8 activations (int8Reduce). Many rows (a prompt) run kInt8Rows at
      // a time: their i32 block sums and f32 totals both stay in registers.
      // x86 without VNNI: pmaddubsw, its pairs summed by pmaddwd (exact for
      // 4-bit weights), where the weights' bytes rather than their conversion
      // to float then bound a decoding step.
      std::string int8Dot = vnni ? ("llvm.x86.avx512.vpdpbusd." + Twine(vectorBits)).str()
                            : usdot && vectorBits == 128 ? "llvm.aarch64.neon.usdot.v4i32.v16i8"
                            : pmaddwd && vectorBits == 512 ? "llvm.x86.avx512.pmaddubs.w.512"
                            : pmaddwd && vectorBits == 256 ? "llvm.x86.avx2.pmadd.ub.sw"
                                                           : "";
      std::string int8DotWiden = vnni || usdot || !pmaddwd ? "" : pmaddwdIntrinsic(vectorBits);
      if (!(c.dequant && c.int8Activations && vecs % 2 == 0 && c.ks.size() == 1 && readsAlongK(c) &&
            getElementTypeOrSelf(c.a.getType()).isF32() && c.block % 4 == 0 && c.block % vl == 0 &&
            !ShapedType::isDynamic(ranges[c.ks[0]]) && ranges[c.ks[0]] % c.block == 0))
        int8Dot.clear();
      // 2:4-sparse weights where reading them bounds the run (up to 4 rows,
      // all in one kernel, each step's values and positions loaded once).
      // Panels of the usual width: twice as wide streamed the weights 40%
      // slower (a 4096 x 8192 matmul, one row: 3.2-4.1 ms against 2.7-3.0).
      std::optional<tern::SparsePanels> sparsePanels;
      if (sparse && fewRows && m <= 4 && !c.bytes && !c.dequant && (vectorBits == 256 || vectorBits == 512) &&
          c.ks.size() == 1 && getElementTypeOrSelf(c.c.getType()).isF32() && readsAlongK(c) &&
          !ShapedType::isDynamic(ranges[c.ks[0]]))
        sparsePanels = packer.packSparse24(c.b, c.bTransposed, vl, vectors);
      // Panels with few non-zero rows (block-pruned weights): those rows
      // only, at any number of rows of A.
      std::optional<tern::RowSparsePanels> rowSparse;
      if (!sparsePanels && packWeights && !c.bytes && !c.dequant && c.ks.size() == 1 &&
          getElementTypeOrSelf(c.c.getType()).isF32())
        rowSparse = packer.packRowSparse(c.b, c.bTransposed, vl * vecs, 0.75);
      if (rowSparse)
        packed = std::make_pair(rowSparse->valuesType, rowSparse->values);
      else if (sparsePanels)
        ; // packed above
      else if (!int8Dot.empty() &&
               (packed = packer.pack(c.b, c.bTransposed, c.bUnsigned, vl * vecs, Packing::Nibbles4)))
        nibbles = nibbles4 = true;
      else if (c.dequant && vecs % 2 == 0 && (packed = packer.pack(c.b, c.bTransposed, c.bUnsigned, vl * vecs, Packing::Nibbles)))
        nibbles = true;
      else if (packWeights || c.bytes || c.dequant)
        packed = packer.pack(c.b, c.bTransposed, c.bUnsigned, vl * vecs, how);
      if (c.dequant) {
        // With int8 activations, the block scales and offsets as f16 where
        // they fit: a sixth of the bytes per weight (0.625 instead of 0.75)
        // at a relative error (2^-11) far below 4-bit rounding's.
        if (nibbles4) {
          scales = packer.pack(c.scale, false, false, vl * vecs, Packing::Half);
          offsets = packer.pack(c.offset, false, false, vl * vecs, Packing::Half);
        }
        if (!scales || !offsets) {
          scales = packer.pack(c.scale, false, false, vl * vecs, Packing::Move);
          offsets = packer.pack(c.offset, false, false, vl * vecs, Packing::Move);
        }
        if (!scales || !offsets)
          continue;
      }
      if ((c.bTransposed || c.bytes || c.dequant) && !packed && !sparsePanels)
        continue;
      // With an epilogue, the kernel goes where the epilogue was: only views,
      // allocations (of the epilogue's output, say) and fills of other
      // buffers are in between.
      std::optional<Epilogue> epilogue = fuseEpilogues ? findEpilogue(op, c, vl) : std::nullopt;
      b.setInsertionPoint(epilogue ? epilogue->op.getOperation() : op.getOperation());
      Location loc = op.getLoc();
      Value packedB;
      if (packed)
        packedB = memref::GetGlobalOp::create(b, loc, packed->first, packed->second.getValue());
      SmallVector<Value> sizes;
      for (Range r : op.createLoopRanges(b, loc))
        sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
      Init init = initOf(op, c);
      std::string intrinsic = !dot                           ? ""
                              : usdot && vectorBits == 128 ? "llvm.aarch64.neon.usdot.v4i32.v16i8"
                              : sdot && vectorBits == 128  ? "llvm.aarch64.neon.sdot.v4i32.v16i8"
                                                           : ("llvm.x86.avx512.vpdpbusd." + Twine(vectorBits)).str();
      KernelBuilder kernel(b, loc, c, vl, vecs, packedB, intrinsic, init, epilogue);
      if (c.dequant)
        kernel.setDequantization(memref::GetGlobalOp::create(b, loc, scales->first, scales->second.getValue()),
                                 memref::GetGlobalOp::create(b, loc, offsets->first, offsets->second.getValue()),
                                 nibbles);
      if (copyPanels && !packed && !sparsePanels)
        kernel.setCopyPanels();
      if (dot && !usdot && sdot && vectorBits == 128)
        kernel.setSignedDot();
      if (nibbles4)
        kernel.setInt8Activations(int8Dot, int8DotWiden);
      // Dequantized weights in f32 against many rows (a prompt, with f32
      // activations): each panel dequantized once into a stack buffer (at
      // most kPanelBytes) that every tile of rows reads, instead of once
      // per tile.
      if (c.dequant && !nibbles4 && (ShapedType::isDynamic(m) || m >= 2 * rows) &&
          !ShapedType::isDynamic(ranges[c.ks[0]]) && ranges[c.ks[0]] * vl * vecs * 4 <= kPanelBytes)
        kernel.setDequantizePanels(/*ifMany=*/ShapedType::isDynamic(m));
      // With VNNI, vpdpwssd multiplies and adds in one instruction.
      if (pairs && vnni && vectorBits >= 256)
        kernel.setPairs(("llvm.x86.avx512.vpdpwssd." + Twine(vectorBits)).str(), /*accumulates=*/true);
      else if (pairs)
        kernel.setPairs(pmaddwdIntrinsic(vectorBits), /*accumulates=*/false);
      if (rowSparse)
        kernel.setRowSparse(
            memref::GetGlobalOp::create(b, loc, rowSparse->indicesType, rowSparse->indices.getValue()),
            rowSparse->rows);
      if (sparsePanels)
        kernel.setSparse(
            memref::GetGlobalOp::create(b, loc, sparsePanels->valuesType, sparsePanels->values.getValue()),
            memref::GetGlobalOp::create(b, loc, sparsePanels->indicesType, sparsePanels->indices.getValue()),
            vectorBits == 512 ? "llvm.x86.avx512.permvar.sf.512" : "llvm.x86.avx2.permps");
      kernel.build(sizes, sparsePanels ? m : nibbles4 ? std::min<int64_t>(rows, kInt8Rows) : rows);
      if (init.setter)
        init.setter->erase();
      if (epilogue) {
        Operation *expand = epilogue->expanded.getDefiningOp();
        epilogue->op->erase();
        if (expand && expand->use_empty())
          expand->erase();
      }
      op->erase();
      kernel.eraseFusedGather();
    }
    packer.eraseUnused();
  }
};

} // namespace
