//===- EntryBuffers.h - @main's extra byte buffers ------------------------===//
//
// After bufferization the codegen passes give `@main` three byte buffers,
// in this order: the weights (tern-externalize-weights), the arena
// (tern-plan-memory) and the runtime's hooks (tern-outline-parallel-loops),
// matching the slots the runtime passes (runtime/include/tern/tern_abi.h).
// Also the small facts about buffers the codegen passes share.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_LIB_CODEGEN_ENTRYBUFFERS_H
#define TERN_LIB_CODEGEN_ENTRYBUFFERS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"

#include <string>

namespace tern {

/// The ONNX node an op came from, as a symbol suffix ("_Conv_12", leading
/// non-alphanumerics dropped, the others as '_'), so that
/// a profile of the compiled model names the node each task or kernel
/// runs; empty
/// when the location names none.
inline std::string nodeSuffix(mlir::Location loc) {
  std::string name;
  loc->walk([&](mlir::Location l) {
    if (auto n = mlir::dyn_cast<mlir::NameLoc>(l)) {
      name = n.getName().str();
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  llvm::StringRef trimmed = llvm::StringRef(name).drop_while([](char c) { return !llvm::isAlnum(c); });
  if (trimmed.empty())
    return "";
  std::string out = "_";
  for (char c : trimmed.take_front(48))
    out += llvm::isAlnum(c) ? c : '_';
  return out;
}

/// The model's entry function, or an error on the module.
inline mlir::FailureOr<mlir::func::FuncOp> entryFunction(mlir::ModuleOp module) {
  auto main = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (!main)
    return module.emitError("no @main function"), mlir::failure();
  return main;
}

/// Appends a `memref<?xi8>` argument named `name` to `main`; returns it.
inline mlir::FailureOr<mlir::Value> appendEntryBuffer(mlir::func::FuncOp main, llvm::StringRef name) {
  mlir::MLIRContext *ctx = main.getContext();
  mlir::Builder b(ctx);
  auto type = mlir::MemRefType::get({mlir::ShapedType::kDynamic}, mlir::IntegerType::get(ctx, 8));
  unsigned index = main.getNumArguments();
  if (mlir::failed(main.insertArgument(index, type,
                                       b.getDictionaryAttr({b.getNamedAttr("tern.name", b.getStringAttr(name))}),
                                       main.getLoc())))
    return mlir::failure();
  return mlir::Value(main.getArgument(index));
}

/// The bytes a buffer of static shape holds (index elements are 8 bytes).
inline int64_t bufferBytes(mlir::MemRefType type) {
  mlir::Type e = type.getElementType();
  int64_t bytes = e.isIndex() ? 8 : (e.getIntOrFloatBitWidth() + 7) / 8;
  return type.getNumElements() * bytes;
}

/// The buffer a memref value views, following view-like ops and casts back.
inline mlir::Value rootBuffer(mlir::Value v) {
  while (mlir::Operation *def = v.getDefiningOp()) {
    if (auto view = mlir::dyn_cast<mlir::ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else if (auto cast = mlir::dyn_cast<mlir::memref::CastOp>(def))
      v = cast.getSource();
    else
      break;
  }
  return v;
}

/// Is `v` a memref whose last dim has stride 1 (vector loads and stores)?
inline bool hasUnitInnerStride(mlir::Value v) {
  auto t = mlir::dyn_cast<mlir::MemRefType>(v.getType());
  llvm::SmallVector<int64_t> strides;
  int64_t offset;
  return t && t.getRank() > 0 && mlir::succeeded(t.getStridesAndOffset(strides, offset)) && strides.back() == 1;
}

} // namespace tern

#endif
