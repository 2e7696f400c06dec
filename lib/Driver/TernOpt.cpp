//===- TernOpt.cpp - tern-opt --------------------------------------------===//

#include "tern/Codegen/Codegen.h"
#include "tern/Driver/Driver.h"
#include "tern/Importer/Importer.h"

#include "dialects/Tern/TernOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Transforms/Passes.h"

int tern::ternOptMain(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registerImporterDialects(registry);
  registerCodegenDialects(registry);
  registry.insert<mlir::arith::ArithDialect, mlir::tensor::TensorDialect>();
  mlir::registerAllPasses(); // upstream passes, for experiments around tern's
  registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "tern-opt: tern's dialects, passes and pipelines\n", registry));
}
