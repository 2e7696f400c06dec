// RUN: tern-opt %s --tern-decompose-pads | FileCheck %s
// RUN: tern-opt %s --tern-decompose-pads --eliminate-empty-tensors --empty-tensor-to-alloc-tensor \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --cse --canonicalize | FileCheck %s --check-prefix=INPLACE
// RUN: tern-opt %s --eliminate-empty-tensors --empty-tensor-to-alloc-tensor \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --cse --canonicalize | FileCheck %s --check-prefix=PAD

// A ReLU's result padded for a convolution: the pad becomes fills of the
// border slabs (rows above and below, then the columns left and right of
// the interior rows) and an insert of the interior, so that after
// bufferization the ReLU writes straight into the padded buffer and only
// the border is filled; left a tensor.pad, the ReLU writes a buffer of its
// own that is then copied in.
// CHECK-LABEL: func.func @relu_pad
// CHECK: %[[R:.+]] = linalg.generic
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x1x6xf32>)
// CHECK: tensor.insert_slice %{{.+}}[0, 0, 0] [2, 1, 6]
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x1x6xf32>)
// CHECK: tensor.insert_slice %{{.+}}[0, 5, 0] [2, 1, 6]
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4x1xf32>)
// CHECK: tensor.insert_slice %{{.+}}[0, 1, 0] [2, 4, 1]
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4x1xf32>)
// CHECK: tensor.insert_slice %{{.+}}[0, 1, 5] [2, 4, 1]
// CHECK: tensor.insert_slice %[[R]] into %{{.+}}[0, 1, 1] [2, 4, 4] [1, 1, 1]
// CHECK-NOT: tensor.pad

// INPLACE-LABEL: func.func @relu_pad
// INPLACE: %[[A:.+]] = memref.alloc() {{.*}} : memref<2x6x6xf32>
// INPLACE-NOT: outs(%[[A]]
// INPLACE-COUNT-4: linalg.fill ins(%{{.+}} : f32) outs(%subview
// INPLACE: %[[S:.+]] = memref.subview %[[A]][0, 1, 1] [2, 4, 4] [1, 1, 1]
// INPLACE: linalg.generic {{.+}} outs(%[[S]] :
// INPLACE-NOT: memref.copy
// INPLACE: return %[[A]]

// PAD-LABEL: func.func @relu_pad
// PAD: memref.copy
#id = affine_map<(c, i, j) -> (c, i, j)>
func.func @relu_pad(%x: tensor<2x4x4xf32>) -> tensor<2x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x4x4xf32>) outs(%e : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x4x4xf32>
  %p = tensor.pad %r low[0, 1, 1] high[0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<2x4x4xf32> to tensor<2x6x6xf32>
  return %p : tensor<2x6x6xf32>
}

// The same with a batch known at run time: the insert of the interior
// names the size the ReLU's result was made with (%n, asked at the top),
// not a dim of that result asked after it, so that empty-tensor
// elimination still lets the ReLU write into the padded buffer (it could
// not, and every padded map of a model compiled with a dynamic batch was
// copied once more).
// CHECK-LABEL: func.func @relu_pad_dynamic
// CHECK: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK: tensor.insert_slice %{{.+}} into %{{.+}}[0, 1, 1] [%[[N]], 4, 4] [1, 1, 1]

// INPLACE-LABEL: func.func @relu_pad_dynamic
// INPLACE: %[[A:.+]] = memref.alloc(%{{.+}}) {{.*}} : memref<?x6x6xf32>
// INPLACE: %[[S:.+]] = memref.subview %[[A]][0, 1, 1]
// INPLACE: linalg.generic {{.+}} outs(%[[S]] :
// INPLACE-NOT: memref.copy
// INPLACE: return %[[A]]

// PAD-LABEL: func.func @relu_pad_dynamic
// PAD: memref.copy
func.func @relu_pad_dynamic(%x: tensor<?x4x4xf32>) -> tensor<?x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4x4xf32>
  %e = tensor.empty(%n) : tensor<?x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x4x4xf32>) outs(%e : tensor<?x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x4x4xf32>
  %p = tensor.pad %r low[0, 1, 1] high[0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x4x4xf32> to tensor<?x6x6xf32>
  return %p : tensor<?x6x6xf32>
}

// A padding value that depends on the position: the whole tensor is
// generated, then the interior inserted.
// CHECK-LABEL: func.func @index_pad
// CHECK: tensor.generate
// CHECK: tensor.insert_slice %arg0 into %{{.+}}[1] [4] [1]
func.func @index_pad(%x: tensor<4xf32>) -> tensor<6xf32> {
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    %c = arith.index_cast %i : index to i32
    %f = arith.sitofp %c : i32 to f32
    tensor.yield %f : f32
  } : tensor<4xf32> to tensor<6xf32>
  return %p : tensor<6xf32>
}
