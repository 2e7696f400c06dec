// RUN: tern-opt %s --tern-fuse-elementwise | FileCheck %s
#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// An elementwise chain becomes one generic.
// CHECK-LABEL: func.func @chain
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0, %x : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %r = arith.addf %in, %in2 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// Must not fire: into a consumer that reduces (the exp would run once per
// multiply-add), nor from a producer with another user.
// CHECK-LABEL: func.func @into_matmul
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}"reduction"
// CHECK-NOT: math.exp
func.func @into_matmul(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %acc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%0, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %m = arith.mulf %in, %in2 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %1 : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @two_users
// CHECK-COUNT-3: linalg.generic
func.func @two_users(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.sqrt %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.log %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// A result read by a relayout (an int8 convolution's input moved to
// channels last, its top bit flipped) and by another elementwise op (a
// residual add): its producer, which reads a channels-last matmul result
// back as NCHW, writes it channels last instead, and both readers read it
// from there. No transpose is left but the residual add's own output.
// CHECK-LABEL: func.func @write_in_readers_layout
// CHECK: %[[LAST:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<6x4xi32>) outs(%{{.+}} : tensor<2x3x4xi8>)
// CHECK: arith.trunci
// CHECK: %[[FLIPPED:.+]] = linalg.generic {indexing_maps = [#[[ID3:.+]], #[[ID3]]], {{.+}} ins(%[[LAST]] : tensor<2x3x4xi8>) outs(%{{.+}} : tensor<2x3x4xi8>)
// CHECK: arith.xori
// CHECK: %[[SUM:.+]] = linalg.generic {{.+}} ins(%[[LAST]], %arg1 : tensor<2x3x4xi8>, tensor<4x2x3xi8>) outs(%{{.+}} : tensor<4x2x3xi8>)
// CHECK: arith.addi
// CHECK: return %[[FLIPPED]], %[[SUM]]
#tolast = affine_map<(h, w, c) -> (c, h, w)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#fromrows = affine_map<(c, h, w) -> (h * 3 + w, c)>
func.func @write_in_readers_layout(%acc: tensor<6x4xi32>, %res: tensor<4x2x3xi8>) -> (tensor<2x3x4xi8>, tensor<4x2x3xi8>) {
  %e = tensor.empty() : tensor<4x2x3xi8>
  %q = linalg.generic {indexing_maps = [#fromrows, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%acc : tensor<6x4xi32>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%in: i32, %out: i8):
    %t = arith.trunci %in : i32 to i8
    linalg.yield %t : i8
  } -> tensor<4x2x3xi8>
  %el = tensor.empty() : tensor<2x3x4xi8>
  %flip = arith.constant -128 : i8
  %last = linalg.generic {indexing_maps = [#tolast, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<4x2x3xi8>) outs(%el : tensor<2x3x4xi8>) {
  ^bb0(%in: i8, %out: i8):
    %f = arith.xori %in, %flip : i8
    linalg.yield %f : i8
  } -> tensor<2x3x4xi8>
  %sum = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q, %res : tensor<4x2x3xi8>, tensor<4x2x3xi8>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%a: i8, %b: i8, %out: i8):
    %s = arith.addi %a, %b : i8
    linalg.yield %s : i8
  } -> tensor<4x2x3xi8>
  return %last, %sum : tensor<2x3x4xi8>, tensor<4x2x3xi8>
}

// Must not fire: the relayout the only reader (plain fusion: one generic),
// and a relayout whose body does more than flip bits (a scale: the
// producer keeps its layout and its other reader).
// CHECK-LABEL: func.func @relayout_left_alone
// CHECK: linalg.generic {{.+}} ins(%arg0 : tensor<6x4xi32>) outs(%{{.+}} : tensor<2x3x4xi8>)
// CHECK: %[[Q:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<6x4xi32>) outs(%{{.+}} : tensor<4x2x3xi8>)
// CHECK: linalg.generic {{.+}} ins(%[[Q]] : tensor<4x2x3xi8>) outs(%{{.+}} : tensor<2x3x4xi8>)
// CHECK: arith.muli
// CHECK: linalg.generic {{.+}} ins(%[[Q]], %arg1 : tensor<4x2x3xi8>, tensor<4x2x3xi8>)
// CHECK-NOT: linalg.generic
func.func @relayout_left_alone(%acc: tensor<6x4xi32>, %res: tensor<4x2x3xi8>) -> (tensor<2x3x4xi8>, tensor<2x3x4xi8>, tensor<4x2x3xi8>) {
  %e = tensor.empty() : tensor<4x2x3xi8>
  %el = tensor.empty() : tensor<2x3x4xi8>
  %flip = arith.constant -128 : i8
  %q1 = linalg.generic {indexing_maps = [#fromrows, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%acc : tensor<6x4xi32>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%in: i32, %out: i8):
    %t = arith.trunci %in : i32 to i8
    linalg.yield %t : i8
  } -> tensor<4x2x3xi8>
  %last1 = linalg.generic {indexing_maps = [#tolast, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q1 : tensor<4x2x3xi8>) outs(%el : tensor<2x3x4xi8>) {
  ^bb0(%in: i8, %out: i8):
    %f = arith.xori %in, %flip : i8
    linalg.yield %f : i8
  } -> tensor<2x3x4xi8>
  %q2 = linalg.generic {indexing_maps = [#fromrows, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%acc : tensor<6x4xi32>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%in: i32, %out: i8):
    %t = arith.trunci %in : i32 to i8
    linalg.yield %t : i8
  } -> tensor<4x2x3xi8>
  %last2 = linalg.generic {indexing_maps = [#tolast, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q2 : tensor<4x2x3xi8>) outs(%el : tensor<2x3x4xi8>) {
  ^bb0(%in: i8, %out: i8):
    %f = arith.muli %in, %flip : i8
    linalg.yield %f : i8
  } -> tensor<2x3x4xi8>
  %sum = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q2, %res : tensor<4x2x3xi8>, tensor<4x2x3xi8>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%a: i8, %b: i8, %out: i8):
    %s = arith.addi %a, %b : i8
    linalg.yield %s : i8
  } -> tensor<4x2x3xi8>
  return %last1, %last2, %sum : tensor<2x3x4xi8>, tensor<2x3x4xi8>, tensor<4x2x3xi8>
}

// Must not fire: the producer reads its input in the old layout (a max
// pool over NCHW taps): written channels last, it would gather that input
// across its rows. The relayout stays a transpose of the result.
// CHECK-LABEL: func.func @relayout_old_layout_input
// CHECK: %[[Q:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<4x2x3xi32>) outs(%{{.+}} : tensor<4x2x3xi8>)
// CHECK: linalg.generic {{.+}} ins(%[[Q]] : tensor<4x2x3xi8>) outs(%{{.+}} : tensor<2x3x4xi8>)
// CHECK: linalg.generic {{.+}} ins(%[[Q]], %arg1 : tensor<4x2x3xi8>, tensor<4x2x3xi8>)
func.func @relayout_old_layout_input(%nchw: tensor<4x2x3xi32>, %res: tensor<4x2x3xi8>) -> (tensor<2x3x4xi8>, tensor<4x2x3xi8>) {
  %e = tensor.empty() : tensor<4x2x3xi8>
  %el = tensor.empty() : tensor<2x3x4xi8>
  %flip = arith.constant -128 : i8
  %q = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%nchw : tensor<4x2x3xi32>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%in: i32, %out: i8):
    %t = arith.trunci %in : i32 to i8
    linalg.yield %t : i8
  } -> tensor<4x2x3xi8>
  %last = linalg.generic {indexing_maps = [#tolast, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<4x2x3xi8>) outs(%el : tensor<2x3x4xi8>) {
  ^bb0(%in: i8, %out: i8):
    %f = arith.xori %in, %flip : i8
    linalg.yield %f : i8
  } -> tensor<2x3x4xi8>
  %sum = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q, %res : tensor<4x2x3xi8>, tensor<4x2x3xi8>) outs(%e : tensor<4x2x3xi8>) {
  ^bb0(%a: i8, %b: i8, %out: i8):
    %s = arith.addi %a, %b : i8
    linalg.yield %s : i8
  } -> tensor<4x2x3xi8>
  return %last, %sum : tensor<2x3x4xi8>, tensor<4x2x3xi8>
}

// The same with the images counted at run time: the copies take their
// dynamic size from what they read.
// CHECK-LABEL: func.func @write_in_readers_layout_dynamic
// CHECK: %[[LAST:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<?x6x4xi32>) outs(%{{.+}} : tensor<?x2x3x4xi8>)
// CHECK: arith.trunci
// CHECK: %[[FLIPPED:.+]] = linalg.generic {{.+}} ins(%[[LAST]] : tensor<?x2x3x4xi8>) outs(%{{.+}} : tensor<?x2x3x4xi8>)
// CHECK: arith.xori
// CHECK: %[[SUM:.+]] = linalg.generic {{.+}} ins(%[[LAST]], %arg1 : tensor<?x2x3x4xi8>, tensor<?x4x2x3xi8>) outs(%{{.+}} : tensor<?x4x2x3xi8>)
// CHECK: return %[[FLIPPED]], %[[SUM]]
#tolast4 = affine_map<(n, h, w, c) -> (n, c, h, w)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#fromrows4 = affine_map<(n, c, h, w) -> (n, h * 3 + w, c)>
func.func @write_in_readers_layout_dynamic(%acc: tensor<?x6x4xi32>, %res: tensor<?x4x2x3xi8>) -> (tensor<?x2x3x4xi8>, tensor<?x4x2x3xi8>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %acc, %c0 : tensor<?x6x4xi32>
  %e = tensor.empty(%n) : tensor<?x4x2x3xi8>
  %q = linalg.generic {indexing_maps = [#fromrows4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%acc : tensor<?x6x4xi32>) outs(%e : tensor<?x4x2x3xi8>) {
  ^bb0(%in: i32, %out: i8):
    %t = arith.trunci %in : i32 to i8
    linalg.yield %t : i8
  } -> tensor<?x4x2x3xi8>
  %el = tensor.empty(%n) : tensor<?x2x3x4xi8>
  %flip = arith.constant -128 : i8
  %last = linalg.generic {indexing_maps = [#tolast4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q : tensor<?x4x2x3xi8>) outs(%el : tensor<?x2x3x4xi8>) {
  ^bb0(%in: i8, %out: i8):
    %f = arith.xori %in, %flip : i8
    linalg.yield %f : i8
  } -> tensor<?x2x3x4xi8>
  %sum = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q, %res : tensor<?x4x2x3xi8>, tensor<?x4x2x3xi8>) outs(%e : tensor<?x4x2x3xi8>) {
  ^bb0(%a: i8, %b: i8, %out: i8):
    %s = arith.addi %a, %b : i8
    linalg.yield %s : i8
  } -> tensor<?x4x2x3xi8>
  return %last, %sum : tensor<?x2x3x4xi8>, tensor<?x4x2x3xi8>
}
