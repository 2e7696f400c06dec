// RUN: tern-opt %s --pass-pipeline='builtin.module(tern-lower-to-nvvm{launches-only=1 precision=fp16})' | FileCheck %s

// --precision=fp16 narrows each matmul's operands; an activation two
// matmuls read (BERT's query, key and value projections of one layer
// norm's output) is converted to f16 once, not once per matmul: three
// conversions here (x, w1, w2), four before.
// CHECK-LABEL: func.func @main
// CHECK-COUNT-3: arith.truncf
// CHECK-NOT: arith.truncf
func.func @main(%x: tensor<4x64xf32> {tern.name = "x"}, %w1: tensor<64x32xf32> {tern.name = "w1"},
                %w2: tensor<64x32xf32> {tern.name = "w2"}) -> (tensor<4x32xf32> {tern.name = "a"}, tensor<4x32xf32> {tern.name = "b"}) {
  %a = tern.matmul %x, %w1 : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
  %b = tern.matmul %x, %w2 : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
  return %a, %b : tensor<4x32xf32>, tensor<4x32xf32>
}
