// RUN: tern-opt %s --tern-vectorize-reductions="vector-bits=128 accumulators=2" --canonicalize --split-input-file | FileCheck %s

// A whole tensor's minimum (DynamicQuantizeLinear's range): per row, two
// accumulators started at +inf over whole groups, one more vector, the last
// element masked; the lanes reduced and combined into the output once a row.
// CHECK-LABEL: func.func @full_min
// CHECK-DAG: %[[INF:.+]] = arith.constant dense<0x7F800000> : vector<4xf32>
// CHECK: scf.for %[[I:.+]] =
// CHECK: %[[ACC:.+]]:2 = scf.for {{.+}} step %c8 iter_args(%{{.+}} = %[[INF]], %{{.+}} = %[[INF]])
// CHECK: arith.minimumf {{.+}} : vector<4xf32>
// CHECK: arith.minimumf {{.+}} : vector<4xf32>
// CHECK: arith.minimumf %[[ACC]]#0, %[[ACC]]#1 : vector<4xf32>
// CHECK: %[[MASK:.+]] = vector.constant_mask [1] : vector<4xi1>
// CHECK: vector.maskedload %arg0[%[[I]], %c36], %[[MASK]]
// CHECK: arith.select %[[MASK]]
// CHECK: %[[R:.+]] = vector.reduction <minimumf>, {{.+}} : vector<4xf32> into f32
// CHECK: %[[OLD:.+]] = memref.load %arg1[] : memref<f32>
// CHECK: %[[NEW:.+]] = arith.minimumf %[[OLD]], %[[R]] : f32
// CHECK: memref.store %[[NEW]], %arg1[] : memref<f32>
// CHECK-NOT: linalg.generic
func.func @full_min(%x: memref<16x37xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<16x37xf32>) outs(%out : memref<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.minimumf %acc, %in : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Row sums of squared deviations, the mean one value per row (loaded once
// and broadcast): an scf.parallel over the rows; the sum starts at -0.0.
// CHECK-LABEL: func.func @row_variance
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<-0.000000e+00> : vector<4xf32>
// CHECK: scf.parallel (%[[I:.+]]) =
// CHECK: %[[M:.+]] = memref.load %arg1[%[[I]]] : memref<8xf32>
// CHECK: %[[MV:.+]] = vector.broadcast %[[M]] : f32 to vector<4xf32>
// CHECK: scf.for {{.+}} iter_args(%{{.+}} = %[[ZERO]], %{{.+}} = %[[ZERO]])
// CHECK: %[[X:.+]] = vector.load %arg0[%[[I]], {{.+}}] : memref<8x64xf32>, vector<4xf32>
// CHECK: %[[D:.+]] = arith.subf %[[X]], %[[MV]] : vector<4xf32>
// CHECK: arith.mulf %[[D]], %[[D]] : vector<4xf32>
// CHECK: vector.reduction <add>
// CHECK-NOT: linalg.generic
func.func @row_variance(%x: memref<8x64xf32>, %mean: memref<8xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : memref<8x64xf32>, memref<8xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%in: f32, %m: f32, %acc: f32):
    %d = arith.subf %in, %m : f32
    %s = arith.mulf %d, %d : f32
    %a = arith.addf %acc, %s : f32
    linalg.yield %a : f32
  }
  return
}

// -----

// Row sums of bytes into i32 (a quantized matmul's zero-point term): the
// lanes are those of the widest element, the bytes widened on the vector.
// CHECK-LABEL: func.func @byte_row_sums
// CHECK: vector.load %arg0{{.+}} : memref<3x40xi8>, vector<4xi8>
// CHECK: arith.extui {{.+}} : vector<4xi8> to vector<4xi32>
// CHECK: vector.reduction <add>, {{.+}} : vector<4xi32> into i32
func.func @byte_row_sums(%x: memref<3x40xi8>, %out: memref<3xi32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x40xi8>) outs(%out : memref<3xi32>) {
  ^bb0(%in: i8, %acc: i32):
    %w = arith.extui %in : i8 to i32
    %a = arith.addi %acc, %w : i32
    linalg.yield %a : i32
  }
  return
}

// -----

// Must not fire: a reduction along an outer loop (the innermost parallel),
// the output read by more than the combine, a subtraction (not a
// reduction's combine), an input read transposed along the row, and index
// semantics.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: vector.
func.func @left_alone(%x: memref<8x64xf32>, %cols: memref<64xf32>, %rows: memref<8xf32>, %xt: memref<64x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<8x64xf32>) outs(%cols : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %acc, %in : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%rows : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %h = arith.mulf %acc, %in : f32
    %a = arith.addf %acc, %h : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%rows : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.subf %acc, %in : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%xt : memref<64x8xf32>) outs(%rows : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %acc, %in : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%rows : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i32
    %jf = arith.sitofp %ji : i32 to f32
    %p = arith.mulf %in, %jf : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  }
  return
}

// -----

// Must not fire: rows of 3, shorter than one vector of 4 (a pooling
// window's rows): left to LLVM.
// CHECK-LABEL: func.func @short_rows
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @short_rows(%x: memref<8x3x3xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i)>],
                  iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : memref<8x3x3xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %acc, %in : f32
    linalg.yield %a : f32
  }
  return
}
