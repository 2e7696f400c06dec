// An element type code generation does not handle is an error naming the
// node, before anything is rewritten; so is an op without a lowering.
// RUN: not tern-opt %s --tern-to-linalg 2>&1 | FileCheck %s
// CHECK: error: {{.*}}node 'to_f8': element type 'f8E4M3FN' is not supported by code generation yet

func.func @f8(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %0 = tern.cast %x {to = f8E4M3FN} : (tensor<4xf32>) -> tensor<4xf8E4M3FN> loc("to_f8")
  return %0 : tensor<4xf8E4M3FN>
}
