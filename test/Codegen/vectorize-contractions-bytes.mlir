// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=512 rows=4 vectors=2 vnni=true" --canonicalize --split-input-file | FileCheck %s --check-prefix=VNNI
// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=128 rows=4 vectors=2" --canonicalize --split-input-file | FileCheck %s --check-prefix=WIDEN
// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=128 rows=4 vectors=2 usdot=true" --canonicalize --split-input-file | FileCheck %s --check-prefix=USDOT
// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=512 rows=4 vectors=2 pmaddwd=true" --canonicalize --split-input-file | FileCheck %s --check-prefix=PAIRS
// RUN: tern-opt %s --tern-vectorize-contractions="vector-bits=256 rows=6 vectors=2 pmaddwd=true vnni=true" --canonicalize --split-input-file | FileCheck %s --check-prefix=WORDS

// A u8 x s8 matmul with constant weights (the integer matmuls of quantized
// models): k = 6 is not a multiple of 4 and n = 20 leaves a partial panel.
//
// With VNNI, B is packed in groups of 4 bytes along k ([panels][k/4][32 x 4],
// zero-padded); per 4 k each row's 4 bytes of A are broadcast as one i32 and
// vpdpbusd multiplies them with 64 bytes of B per vector; the last 2 k are
// read masked.
// VNNI: memref.global "private" constant @w_packed_dot4_32 : memref<1x2x128xi8>
// VNNI-LABEL: func.func @bytes
// VNNI: %[[B:.+]] = memref.get_global @w_packed_dot4_32
// VNNI: vector.load %[[B]]{{.+}} : memref<1x2x128xi8>, vector<64xi8>
// VNNI: %[[A4:.+]] = vector.load %arg0{{.+}} : memref<10x6xi8>, vector<4xi8>
// VNNI: %[[W:.+]] = vector.bitcast %[[A4]] : vector<4xi8> to vector<1xi32>
// VNNI: vector.broadcast {{.+}} : i32 to vector<16xi32>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"({{.+}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// VNNI: vector.transfer_read %arg0[{{.+}}, %c4], %c0_i8 : memref<10x6xi8>, vector<4xi8>
// VNNI: vector.maskedstore {{.+}} : memref<10x20xi32>, vector<16xi1>, vector<16xi32>
// VNNI-NOT: linalg.generic
//
// Without it, B is packed widened to i32 at compile time and each byte of
// A is widened as it is read: the i32 kernel.
// WIDEN: memref.global "private" constant @w_packed_i32_8 : memref<3x6x8xi32>
// x86 without dot products: B packed as i16 pairs along k ([panels][k/2][32 x 2]),
// A's bytes widened to i16 once before the kernel (rows in parallel, k
// rounded up to even and zero-padded), each row's pair broadcast as one
// i32, one pmaddwd per vector (2 products per i32 lane) added to the
// accumulators.
// PAIRS: memref.global "private" constant @w_packed_pairs_32 : memref<1x3x64xi16>
// PAIRS-LABEL: func.func @bytes
// PAIRS: %[[WA:.+]] = memref.alloc() {alignment = 64 : i64} : memref<10x6xi16>
// PAIRS: scf.parallel
// PAIRS: arith.extui %{{.+}} : i8 to i16
// PAIRS: memref.store %{{.+}}, %[[WA]]
// PAIRS: %[[A2:.+]] = vector.load %[[WA]][{{.+}}] : memref<10x6xi16>, vector<2xi16>
// PAIRS: vector.bitcast %[[A2]] : vector<2xi16> to vector<1xi32>
// PAIRS: %[[P:.+]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"({{.+}}) : (vector<32xi16>, vector<32xi16>) -> vector<16xi32>
// PAIRS: arith.addi {{.+}}, %[[P]] : vector<16xi32>
// AArch64 with FEAT_I8MM: usdot, the same u8 x s8 groups of 4 on 128 bits.
// USDOT: memref.global "private" constant @w_packed_dot4_8 : memref<3x2x32xi8>
// USDOT-LABEL: func.func @bytes
// USDOT: llvm.call_intrinsic "llvm.aarch64.neon.usdot.v4i32.v16i8"({{.+}}) : (vector<4xi32>, vector<16xi8>, vector<16xi8>) -> vector<4xi32>
// WIDEN-LABEL: func.func @bytes
// WIDEN: memref.load %arg0{{.+}} : memref<10x6xi8>
// WIDEN: arith.extui {{.+}} : i8 to i32
// WIDEN: arith.muli {{.+}} : vector<4xi32>
// WIDEN-NOT: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @w : memref<6x20xi8> = dense<3>
func.func @bytes(%a: memref<10x6xi8>) -> memref<10x20xi32> {
  %zero = arith.constant 0 : i32
  %w = memref.get_global @w : memref<6x20xi8>
  %c = memref.alloc() : memref<10x20xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<10x20xi32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<10x6xi8>, memref<6x20xi8>) outs(%c : memref<10x20xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %x32 = arith.extui %x : i8 to i32
    %y32 = arith.extsi %y : i8 to i32
    %p = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return %c : memref<10x20xi32>
}

// -----

// Not for the dot products (vpdpbusd multiplies u8 by s8, along a k that A
// stores contiguously): s8 x s8, and an A read transposed. Both still run
// widened.
// VNNI-LABEL: func.func @not_dot
// VNNI-NOT: vpdpbusd
// VNNI: memref.get_global @w_packed_i32_32 : memref<1x8x32xi32>
// VNNI: arith.extsi {{.+}} : i8 to i32
// VNNI-NOT: vpdpbusd
// VNNI: memref.get_global @w_packed_i32_32 : memref<1x8x32xi32>
// VNNI: arith.extui {{.+}} : i8 to i32
// VNNI-NOT: vpdpbusd
// VNNI-NOT: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#at = affine_map<(m, n, k) -> (k, m)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @w : memref<8x16xi8> = dense<-2>
func.func @not_dot(%a: memref<4x8xi8>, %at: memref<8x4xi8>) -> (memref<4x16xi32>, memref<4x16xi32>) {
  %zero = arith.constant 0 : i32
  %w = memref.get_global @w : memref<8x16xi8>
  %c = memref.alloc() : memref<4x16xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<4x16xi32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<4x8xi8>, memref<8x16xi8>) outs(%c : memref<4x16xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %x32 = arith.extsi %x : i8 to i32
    %y32 = arith.extsi %y : i8 to i32
    %p = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  %d = memref.alloc() : memref<4x16xi32>
  linalg.fill ins(%zero : i32) outs(%d : memref<4x16xi32>)
  linalg.generic {indexing_maps = [#at, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%at, %w : memref<8x4xi8>, memref<8x16xi8>) outs(%d : memref<4x16xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %x32 = arith.extui %x : i8 to i32
    %y32 = arith.extsi %y : i8 to i32
    %p = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return %c, %d : memref<4x16xi32>, memref<4x16xi32>
}

// -----

// Must not fire: bytes with a run-time B (only a constant B is packed, and
// a byte B is only read packed), and bytes widened to i16.
// VNNI-LABEL: func.func @left_alone
// VNNI-COUNT-2: linalg.generic
// VNNI-NOT: vector.
// WIDEN-LABEL: func.func @left_alone
// WIDEN-COUNT-2: linalg.generic
// WIDEN-NOT: vector.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @left_alone(%a: memref<4x8xi8>, %b: memref<8x16xi8>, %c: memref<4x16xi32>, %d: memref<4x16xi16>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<4x8xi8>, memref<8x16xi8>) outs(%c : memref<4x16xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %x32 = arith.extui %x : i8 to i32
    %y32 = arith.extsi %y : i8 to i32
    %p = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<4x8xi8>, memref<8x16xi8>) outs(%d : memref<4x16xi16>) {
  ^bb0(%x: i8, %y: i8, %acc: i16):
    %x16 = arith.extui %x : i8 to i16
    %y16 = arith.extsi %y : i8 to i16
    %p = arith.muli %x16, %y16 : i16
    %s = arith.addi %acc, %p : i16
    linalg.yield %s : i16
  }
  return
}

// -----

// Block-dequantized weights (MatMulNBits): B one unsigned value per byte,
// a scale s and an offset z per block of 4 k and column, all three packed
// into panels. Within a block, sum a (q s + z) = s sum a q + z sum a: per k
// the kernel loads the weights, converts them and multiplies them with A's
// value into block accumulators, and sums A; at the block's end two FMAs
// apply its s and z (checked on the kernel of the one row left of 5; the
// 4-row kernels dequantize each k once for all rows). k = 6: a block of 4,
// then a partial one of 2.
// Values below 16 (4-bit weights) are packed two per byte: byte r of a
// panel's row holds column r (low half) and r + 4 (high half).
// WIDEN: memref.global "private" constant @q_packed_nibbles_8 : memref<3x6x4xi8>
// WIDEN: memref.global "private" constant @q8_packed8 : memref<3x6x8xi8>
// WIDEN: memref.global "private" constant @sc_packed8 : memref<3x2x8xf32>
// WIDEN: memref.global "private" constant @zo_packed8 : memref<3x2x8xf32>
// WIDEN-LABEL: func.func @dequantized
// The 4-row kernel: each k's weights dequantized once (q s + z), then an
// FMA per row.
// WIDEN: scf.for %[[K:.+]] = %c0 to %c4 step %c1 iter_args
// WIDEN: %[[Q:.+]] = vector.load %{{.+}}[%{{.+}}, %[[K]], %c0] : memref<3x6x4xi8>, vector<4xi8>
// WIDEN: %[[LO:.+]] = arith.andi %[[Q]], %{{.+}} : vector<4xi8>
// WIDEN: %[[QF:.+]] = arith.uitofp %[[LO]] : vector<4xi8> to vector<4xf32>
// WIDEN: vector.fma %[[QF]], %{{.+}}, %{{.+}} : vector<4xf32>
// WIDEN: arith.shrui %{{.+}}, %{{.+}} : vector<4xi8>
// The row left (its first block's loop of one trip unrolled): a q, A's
// sum, s and z at the block's end.
// WIDEN: %[[Q1:.+]] = vector.load %{{.+}}[%{{.+}}, %c0, %c0] : memref<3x6x4xi8>, vector<4xi8>
// WIDEN: %[[LO1:.+]] = arith.andi %[[Q1]], %{{.+}} : vector<4xi8>
// WIDEN: %[[QF1:.+]] = arith.uitofp %[[LO1]] : vector<4xi8> to vector<4xf32>
// WIDEN: %[[A1:.+]] = memref.load %arg0[%c4, %c0] : memref<5x6xf32>
// WIDEN: %[[AV:.+]] = vector.broadcast %[[A1]]
// WIDEN: vector.fma %[[AV]], %[[QF1]], %{{.+}} : vector<4xf32>
// WIDEN: arith.addf %[[AV]], %{{.+}} : vector<4xf32>
// WIDEN: %[[S:.+]] = vector.load %{{.+}} : memref<3x2x8xf32>, vector<4xf32>
// WIDEN: %[[Z:.+]] = vector.load %{{.+}} : memref<3x2x8xf32>, vector<4xf32>
// WIDEN: %[[T:.+]] = vector.fma %{{.+}}, %[[S]], %{{.+}} : vector<4xf32>
// WIDEN: vector.fma %{{.+}}, %[[Z]], %[[T]] : vector<4xf32>
// WIDEN: scf.for %{{.+}} = %c0 to %c2 step %c1 iter_args
// 8-bit values stay one per byte.
// WIDEN: vector.load %{{.+}} : memref<3x6x8xi8>, vector<4xi8>
// WIDEN-NOT: linalg.generic
// VNNI-LABEL: func.func @dequantized
// VNNI: vector.fma
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#s = affine_map<(m, n, k) -> (k floordiv 4, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @q : memref<6x20xi8> = dense<3>
memref.global "private" constant @q8 : memref<6x20xi8> = dense<20>
memref.global "private" constant @sc : memref<2x20xf32> = dense<0.5>
memref.global "private" constant @zo : memref<2x20xf32> = dense<-4.0>
func.func @dequantized(%a: memref<5x6xf32>) -> (memref<5x20xf32>, memref<5x20xf32>) {
  %zero = arith.constant 0.0 : f32
  %q = memref.get_global @q : memref<6x20xi8>
  %q8 = memref.get_global @q8 : memref<6x20xi8>
  %sc = memref.get_global @sc : memref<2x20xf32>
  %zo = memref.get_global @zo : memref<2x20xf32>
  %c = memref.alloc() : memref<5x20xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<5x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<5x6xf32>, memref<6x20xi8>, memref<2x20xf32>, memref<2x20xf32>) outs(%c : memref<5x20xf32>) {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  %d = memref.alloc() : memref<5x20xf32>
  linalg.fill ins(%zero : f32) outs(%d : memref<5x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q8, %sc, %zo : memref<5x6xf32>, memref<6x20xi8>, memref<2x20xf32>, memref<2x20xf32>) outs(%d : memref<5x20xf32>) {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %c, %d : memref<5x20xf32>, memref<5x20xf32>
}

// Against 16 rows or more (twice the kernel's), each panel's weights are
// dequantized once into a stack buffer [k][panel width] f32, which the
// plain f32 kernel then reads for every tile of rows.
// WIDEN-LABEL: func.func @dequantized_panels
// WIDEN: %[[PB:.+]] = memref.alloca() {alignment = 64 : i64} : memref<6x8xf32>
// WIDEN: arith.uitofp %{{.+}} : vector<4xi8> to vector<4xf32>
// WIDEN: vector.fma
// WIDEN: vector.store %{{.+}}, %[[PB]][
// WIDEN: vector.load %[[PB]][%{{.+}}, %c0{{.*}}] : memref<6x8xf32>, vector<4xf32>
// 8-bit values, one per byte, the same way.
// WIDEN: %[[PB8:.+]] = memref.alloca() {alignment = 64 : i64} : memref<6x8xf32>
// WIDEN: vector.load %{{.+}} : memref<3x6x8xi8>, vector<4xi8>
// WIDEN: vector.store %{{.+}}, %[[PB8]][
// WIDEN-NOT: linalg.generic
func.func @dequantized_panels(%a: memref<16x6xf32>) -> (memref<16x20xf32>, memref<16x20xf32>) {
  %zero = arith.constant 0.0 : f32
  %q = memref.get_global @q : memref<6x20xi8>
  %sc = memref.get_global @sc : memref<2x20xf32>
  %zo = memref.get_global @zo : memref<2x20xf32>
  %c = memref.alloc() : memref<16x20xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<16x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<16x6xf32>, memref<6x20xi8>, memref<2x20xf32>, memref<2x20xf32>) outs(%c : memref<16x20xf32>) {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  %q8 = memref.get_global @q8 : memref<6x20xi8>
  %d = memref.alloc() : memref<16x20xf32>
  linalg.fill ins(%zero : f32) outs(%d : memref<16x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q8, %sc, %zo : memref<16x6xf32>, memref<6x20xi8>, memref<2x20xf32>, memref<2x20xf32>) outs(%d : memref<16x20xf32>) {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %c, %d : memref<16x20xf32>, memref<16x20xf32>
}
// A number of rows known at run time: each task checks it (at least 8, twice
// the kernel's) and dequantizes its panel once, or per tile of rows.
// WIDEN-LABEL: func.func @dequantized_panels_dynamic
// WIDEN: %[[MANY:.+]] = arith.cmpi sge, %{{.+}}, %c8
// WIDEN: scf.if %[[MANY]]
// WIDEN: memref.alloca() {alignment = 64 : i64} : memref<6x8xf32>
// WIDEN: } else {
// WIDEN-NOT: memref.alloca
// WIDEN: arith.uitofp
// WIDEN: return
func.func @dequantized_panels_dynamic(%a: memref<?x6xf32>) -> memref<?x20xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %q = memref.get_global @q : memref<6x20xi8>
  %sc = memref.get_global @sc : memref<2x20xf32>
  %zo = memref.get_global @zo : memref<2x20xf32>
  %rows = memref.dim %a, %c0 : memref<?x6xf32>
  %c = memref.alloc(%rows) : memref<?x20xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x20xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<?x6xf32>, memref<6x20xi8>, memref<2x20xf32>, memref<2x20xf32>) outs(%c : memref<?x20xf32>) {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %c : memref<?x20xf32>
}

// -----

// Block-dequantized 4-bit weights marked tern.int8_activations (MatMulNBits
// with accuracy_level 4) against one row of A: A is quantized to int8 per
// block once, before the kernel (d = max |a| / 127, q = round(a / d), the
// block's sum of a), the nibbles are packed in groups of 4 along k
// ([panels][k / 4][columns / 2 x 4 bytes]) and the products run on the
// 8-bit dot products, u8 weights x s8 activations; per block one
// conversion and two FMAs apply s * d and z * sum. The scales and offsets
// are packed as f16 when they fit (@sc), as f32 when not (@tiny).
// VNNI-DAG: memref.global "private" constant @q4_packed_nibbles4_64 : memref<1x16x128xi8>
// VNNI-DAG: memref.global "private" constant @sc_packed_f16_64 : memref<1x2x64xf16>
// VNNI-DAG: memref.global "private" constant @tiny_packed64 : memref<1x2x64xf32>
// VNNI-DAG: memref.global "private" constant @q4_packed_nibbles4_32 : memref<2x16x64xi8>
// VNNI-LABEL: func.func @int8_activations
// VNNI: %[[QA:.+]] = memref.alloc() {alignment = 64 : i64} : memref<1x64xi8>
// VNNI: vector.reduction <maxnumf>
// VNNI: math.roundeven {{.+}} : vector<16xf32>
// VNNI: arith.trunci {{.+}} : vector<16xi32> to vector<16xi8>
// VNNI: vector.store {{.+}}, %[[QA]]
// VNNI: arith.andi {{.+}} : vector<64xi8>
// VNNI: arith.shrui {{.+}} : vector<64xi8>
// VNNI: vector.load %[[QA]]{{.+}} : memref<1x64xi8>, vector<4xi8>
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// VNNI: vector.load {{.+}} : memref<1x2x64xf16>, vector<16xf16>
// VNNI: arith.extf {{.+}} : vector<16xf16> to vector<16xf32>
// VNNI: arith.sitofp {{.+}} : vector<16xi32> to vector<16xf32>
// Without the mark, or without dot products: f32 FMAs on the dequantized
// weights. A dynamic number of rows (a model compiled without pinned
// shapes) gets a buffer for the quantized A of that many rows per run.
// VNNI-LABEL: func.func @int8_activations_not
// VNNI-NOT: vpdpbusd
// VNNI: memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x64xi8>
// VNNI: vpdpbusd
// VNNI: return
// Many rows (a prompt): 4 at a time (i32 block sums and f32 totals both in
// registers: 8 + 8 vectors), then the 2 rows left in one kernel; panels of
// 2 vectors.
// VNNI-LABEL: func.func @int8_activations_rows
// VNNI: memref.alloc() {alignment = 64 : i64} : memref<10x64xi8>
// VNNI: scf.for %{{.+}} = %c0 to %c8 step %c4
// VNNI-COUNT-8: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// VNNI-NOT: %c8 to %c10 step %c1
// VNNI-COUNT-4: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// VNNI-NOT: %c8 to %c10 step %c1
// VNNI-LABEL: func.func @int8_activations_tiny
// VNNI: vpdpbusd
// VNNI: vector.load {{.+}} : memref<1x2x64xf32>, vector<16xf32>
// USDOT-LABEL: func.func @int8_activations
// USDOT: llvm.call_intrinsic "llvm.aarch64.neon.usdot.v4i32.v16i8"
// USDOT-LABEL: func.func @int8_activations_not
// USDOT-NOT: usdot
// USDOT: memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x64xi8>
// USDOT: usdot
// USDOT: return
// x86 without VNNI (pmaddwd, i.e. AVX2 or AVX-512BW): pmaddubsw multiplies
// the nibbles by qa's bytes in pairs summed in i16 (exact: 2 x 15 x 127 at
// most) and pmaddwd against ones sums the pairs into i32 lanes of 4
// products, as vpdpbusd does.
// PAIRS-LABEL: func.func @int8_activations
// PAIRS: memref.alloc() {alignment = 64 : i64} : memref<1x64xi8>
// PAIRS: %[[W:.+]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"({{.+}}) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// PAIRS: %[[Q:.+]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"(%[[W]], %{{.+}}) : (vector<32xi16>, vector<32xi16>) -> vector<16xi32>
// PAIRS: arith.addi %{{.+}}, %[[Q]] : vector<16xi32>
// Elsewhere (no dot products, no pmaddwd) f32 FMAs on the dequantized
// weights.
// WIDEN-LABEL: func.func @int8_activations
// WIDEN-NOT: memref<1x64xi8>
// WIDEN: vector.fma
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#s = affine_map<(m, n, k) -> (k floordiv 32, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @q4 : memref<64x40xi8> = dense<3>
memref.global "private" constant @sc : memref<2x40xf32> = dense<0.5>
memref.global "private" constant @zo : memref<2x40xf32> = dense<-4.0>
memref.global "private" constant @tiny : memref<2x40xf32> = dense<1.0e-9>
func.func @int8_activations(%a: memref<1x64xf32>) -> memref<1x40xf32> {
  %zero = arith.constant 0.0 : f32
  %q = memref.get_global @q4 : memref<64x40xi8>
  %sc = memref.get_global @sc : memref<2x40xf32>
  %zo = memref.get_global @zo : memref<2x40xf32>
  %c = memref.alloc() : memref<1x40xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<1x40xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<1x64xf32>, memref<64x40xi8>, memref<2x40xf32>, memref<2x40xf32>) outs(%c : memref<1x40xf32>)
      attrs = {tern.int8_activations} {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %c : memref<1x40xf32>
}
func.func @int8_activations_not(%a: memref<1x64xf32>, %ad: memref<?x64xf32>) -> (memref<1x40xf32>, memref<?x40xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %q = memref.get_global @q4 : memref<64x40xi8>
  %sc = memref.get_global @sc : memref<2x40xf32>
  %zo = memref.get_global @zo : memref<2x40xf32>
  %c = memref.alloc() : memref<1x40xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<1x40xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<1x64xf32>, memref<64x40xi8>, memref<2x40xf32>, memref<2x40xf32>) outs(%c : memref<1x40xf32>) {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  %rows = memref.dim %ad, %c0 : memref<?x64xf32>
  %d = memref.alloc(%rows) : memref<?x40xf32>
  linalg.fill ins(%zero : f32) outs(%d : memref<?x40xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ad, %q, %sc, %zo : memref<?x64xf32>, memref<64x40xi8>, memref<2x40xf32>, memref<2x40xf32>) outs(%d : memref<?x40xf32>)
      attrs = {tern.int8_activations} {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %c, %d : memref<1x40xf32>, memref<?x40xf32>
}
func.func @int8_activations_rows(%a: memref<10x64xf32>) -> memref<10x40xf32> {
  %zero = arith.constant 0.0 : f32
  %q = memref.get_global @q4 : memref<64x40xi8>
  %sc = memref.get_global @sc : memref<2x40xf32>
  %zo = memref.get_global @zo : memref<2x40xf32>
  %d = memref.alloc() : memref<10x40xf32>
  linalg.fill ins(%zero : f32) outs(%d : memref<10x40xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<10x64xf32>, memref<64x40xi8>, memref<2x40xf32>, memref<2x40xf32>) outs(%d : memref<10x40xf32>)
      attrs = {tern.int8_activations} {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %d : memref<10x40xf32>
}
func.func @int8_activations_tiny(%a: memref<1x64xf32>) -> memref<1x40xf32> {
  %zero = arith.constant 0.0 : f32
  %q = memref.get_global @q4 : memref<64x40xi8>
  %sc = memref.get_global @tiny : memref<2x40xf32>
  %zo = memref.get_global @zo : memref<2x40xf32>
  %c = memref.alloc() : memref<1x40xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<1x40xf32>)
  linalg.generic {indexing_maps = [#a, #b, #s, #s, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %q, %sc, %zo : memref<1x64xf32>, memref<64x40xi8>, memref<2x40xf32>, memref<2x40xf32>) outs(%c : memref<1x40xf32>)
      attrs = {tern.int8_activations} {
  ^bb0(%x: f32, %y: i8, %s: f32, %z: f32, %acc: f32):
    %yf = arith.uitofp %y : i8 to f32
    %ys = arith.mulf %yf, %s : f32
    %w = arith.addf %ys, %z : f32
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return %c : memref<1x40xf32>
}

// -----

// 16-bit activations against 16-bit weights (tern-int16-activations'
// matmuls): B packed as i16 pairs, A's pairs read as they are (no widening
// pass), and with VNNI vpdpwssd multiplies and accumulates in one
// instruction. k = 37 is odd: the last pair is read masked.
// WORDS: memref.global "private" constant @w16_packed_pairs_16 : memref<2x19x32xi16>
// WORDS-LABEL: func.func @words
// WORDS-NOT: memref.alloc() {alignment
// WORDS: vector.load %arg0[{{.+}}] : memref<7x37xi16>, vector<2xi16>
// WORDS: llvm.call_intrinsic "llvm.x86.avx512.vpdpwssd.256"({{.+}}) : (vector<8xi32>, vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// WORDS-NOT: arith.addi {{.+}} : vector<8xi32>
// WORDS: vector.transfer_read %arg0[{{.+}}, %c36], %{{.+}} : memref<7x37xi16>, vector<2xi16>
// WORDS-NOT: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
memref.global "private" constant @w16 : memref<37x20xi16> = dense<-300>
func.func @words(%a: memref<7x37xi16>) -> memref<7x20xi32> {
  %zero = arith.constant 0 : i32
  %w = memref.get_global @w16 : memref<37x20xi16>
  %c = memref.alloc() : memref<7x20xi32>
  linalg.fill ins(%zero : i32) outs(%c : memref<7x20xi32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<7x37xi16>, memref<37x20xi16>) outs(%c : memref<7x20xi32>) {
  ^bb0(%x: i16, %y: i16, %acc: i32):
    %x32 = arith.extsi %x : i16 to i32
    %y32 = arith.extsi %y : i16 to i32
    %p = arith.muli %x32, %y32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return %c : memref<7x20xi32>
}
