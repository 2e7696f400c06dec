// RUN: tern-opt %s --tern-to-linalg --canonicalize --cse | FileCheck %s

// MobileNetV2's first expansion: 56 output rows in 7 bands of 8, 96
// channels in 4 groups of 24, one loop of 28 iterations (groups fastest). A band reads 17 padded input rows (2 x 7 + 3)
// and computes 17 image rows from row 16 b - 1, clamped into [0, 95]: the
// top band's rows start one row down in L (its row 0 is the zero padding)
// and spill into a margin row at the bottom, so L has 18 rows; its columns
// are the left padding and the row (the taps of a stride-2 window end at
// column 112). The expansion is a matmul [24, 16] x [16, 17 x 112] whose
// clip writes L's interior; the depthwise convolution reads 9 strided taps
// of L and writes the band's [24, 8, 56] of the result.
// The clips are tern.clip's: v < 0 ? 0 : v, then 6 < v ? 6 : v.
// CHECK-LABEL: func.func @bands
// CHECK-DAG: %[[C95:.+]] = arith.constant 95 : index
// CHECK-DAG: %[[SIX:.+]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[W2:.+]] = tensor.collapse_shape %arg1 {{\[\[}}0], [1, 2, 3]] : tensor<96x16x1x1xf32> into tensor<96x16xf32>
// CHECK: scf.forall (%[[I:.+]]) in (28) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<1x96x56x56xf32>)
// CHECK-DAG: %[[B:.+]] = arith.divui %[[I]], %c4
// CHECK-DAG: %[[O0:.+]] = arith.muli %[[B]], %c8
// CHECK-DAG: %[[G:.+]] = arith.remui %[[I]], %c4
// CHECK-DAG: %[[CH0:.+]] = arith.muli %[[G]], %c24
// CHECK-DAG: %[[TOP:.+]] = arith.subi %{{.+}}, %c1
// CHECK: %[[FIRST:.+]] = arith.minsi %{{.+}}, %[[C95]]
// CHECK: %[[ROW:.+]] = arith.subi %[[FIRST]], %[[TOP]]
// CHECK: %[[L:.+]] = bufferization.alloc_tensor() : tensor<24x18x113xf32>
// CHECK: tensor.extract_slice %[[L]][0, 0, 0] [24, 1, 113]
// CHECK: linalg.fill
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 0] [24, 18, 1]
// CHECK: linalg.fill
// CHECK: tensor.extract_slice %arg0[0, 0, %[[FIRST]], 0] [1, 16, 17, 112] [1, 1, 1, 1] : tensor<1x16x112x112xf32> to tensor<16x17x112xf32>
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0], [1, 2]] : tensor<16x17x112xf32> into tensor<16x1904xf32>
// CHECK: tensor.extract_slice %[[W2]][%[[CH0]], 0] [24, 16]
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<24x16xf32>, tensor<16x1904xf32>) outs(%{{.+}} : tensor<24x1904xf32>)
// CHECK: tensor.extract_slice %{{.+}}[0, %[[ROW]], 1] [24, 17, 112] [1, 1, 1]
// CHECK: linalg.generic
// CHECK: %[[LT:.+]] = arith.cmpf olt, %{{.+}}, %[[ZERO]]
// CHECK: %[[LO:.+]] = arith.select %[[LT]], %[[ZERO]], %{{.+}}
// CHECK: %[[GT:.+]] = arith.cmpf olt, %[[SIX]], %[[LO]]
// CHECK: arith.select %[[GT]], %[[SIX]], %[[LO]]
// CHECK: tensor.insert_slice %{{.+}}[0, %[[ROW]], 1] [24, 17, 112]
// CHECK-COUNT-9: tensor.extract_slice %{{.+}} [24, 8, 56] [1, 2, 2] : tensor<24x18x113xf32> to tensor<24x8x56xf32>
// CHECK: linalg.generic
// CHECK-COUNT-9: arith.mulf
// CHECK: arith.cmpf olt, %{{.+}}, %[[ZERO]]
// CHECK: arith.cmpf olt, %[[SIX]]
// CHECK: tensor.parallel_insert_slice %{{.+}} into %[[OUT]][0, %[[CH0]], %[[O0]], 0] [1, 24, 8, 56]
func.func @bands(%x: tensor<1x16x112x112xf32>, %we: tensor<96x16x1x1xf32>, %be: tensor<96xf32>, %w: tensor<96x1x3x3xf32>, %b: tensor<96xf32>) -> tensor<1x96x56x56xf32> {
  %y = tern.pointwise_depthwise_conv %x, %we expand_bias %be, %w bias %b {activation = "clip", dilations = array<i64: 1, 1>, expand_activation = "clip", kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>, tensor<96x1x3x3xf32>, tensor<96xf32>) -> tensor<1x96x56x56xf32>
  return %y : tensor<1x96x56x56xf32>
}

// A 40x40 map whose L fits whole (one band: groups of channels only), a
// batch counted at run time: zero rows above and below the image, zero
// columns either side; no biases, Relu, no activation after.
// CHECK-LABEL: func.func @one_band
// CHECK: %[[N:.+]] = tensor.dim %arg0, %c0
// CHECK: scf.forall (%[[I:.+]], %{{.+}}) in (%[[N]], 6)
// CHECK: bufferization.alloc_tensor() : tensor<24x42x42xf32>
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 0] [24, 1, 42]
// CHECK: tensor.extract_slice %{{.+}}[0, 41, 0] [24, 1, 42]
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 0] [24, 42, 1]
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 41] [24, 42, 1]
// CHECK: tensor.extract_slice %arg0[%[[I]], 0, %{{.+}}, 0] [1, 24, 40, 40]
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<24x24xf32>, tensor<24x1600xf32>)
// CHECK: arith.maximumf
// CHECK-NOT: arith.minimumf
// CHECK: tensor.insert_slice %{{.+}}[0, %{{.+}}, 1] [24, 40, 40]
// CHECK: linalg.generic
// CHECK-NOT: arith.maximumf
// CHECK: tensor.parallel_insert_slice %{{.+}}[%[[I]], %{{.+}}, %{{.+}}, 0] [1, 24, 40, 40]
func.func @one_band(%x: tensor<?x24x40x40xf32>, %we: tensor<144x24x1x1xf32>, %w: tensor<144x1x3x3xf32>) -> tensor<?x144x40x40xf32> {
  %y = tern.pointwise_depthwise_conv %x, %we, %w {dilations = array<i64: 1, 1>, expand_activation = "relu", kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<?x24x40x40xf32>, tensor<144x24x1x1xf32>, tensor<144x1x3x3xf32>) -> tensor<?x144x40x40xf32>
  return %y : tensor<?x144x40x40xf32>
}
