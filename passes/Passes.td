//===- Passes.td - tern's graph passes -----------------------------------===//

#ifndef TERN_PASSES_TD
#define TERN_PASSES_TD

include "mlir/Pass/PassBase.td"

def TernInferShapesPass : Pass<"tern-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "Re-infers tern result types and folds constant shape arithmetic";
  let description = [{
    Walks the function in order, re-runs each tern op's type inference and
    refines its result types where the new ones are more static (the
    function's return types follow), then folds ops whose operands became
    constants. Run it after pinning a function's argument types, or after a
    pass that made shapes more static.

    ```mlir
    func.func @f(%x: tensor<1x8xf32>) -> tensor<?x?xf32> {
      %0 = tern.relu %x : (tensor<1x8xf32>) -> tensor<?x?xf32>
      return %0 : tensor<?x?xf32>
    }
    // becomes
    func.func @f(%x: tensor<1x8xf32>) -> tensor<1x8xf32> { ... }
    ```
  }];
  let dependentDialects = ["::tern::TernDialect"];
}

#endif // TERN_PASSES_TD
