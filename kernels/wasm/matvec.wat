;; Matvec kernels y = W·x, W row-major (rows = outDim, cols = inDim), f32 accumulation, WebAssembly SIMD.
;; Hand-written; assembled by scripts/build-wasm.mjs into matvec.wasm.gen.ts. Driven from kernels/wasmKernels.ts.
;;
;; Layout of every kernel: rows are taken four at a time (four weight streams read side by side, x loaded once per
;; four rows); the last, partial group re-reads the last row in place of the missing ones and stores only the rows that
;; exist. Columns go in vector steps; the columns left over (cols mod the step) are done one by one in scalar code.
;; All addresses are byte offsets into the imported shared memory; unaligned addresses are fine (v128.load has no
;; alignment requirement), but 16-byte-aligned buffers are faster.
;;
;; Helpers that take or return v128 are written out by hand inside the loops: V8 on Node 20 does not inline small wasm
;; functions with v128 parameters (../../../shared/notes/toolchain.md pitfall 8). Only $hsum (once per row) and scalar
;; helpers are real calls.
;;
;; bf16 and f16 kernels read x from a scratch copy prepared by $prep_x (even lanes then odd lanes of every 8 columns,
;; optionally scaled), so that 8 packed 16-bit weights decode with two bit operations each into an even and an odd f32x4.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; scalar helpers

  ;; horizontal sum of an f32x4 (called once per row, never in an inner loop)
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; exact IEEE half (bits in the low 16 bits of $h) -> f32, subnormals, infinities and NaN included
  (func $f16 (param $h i32) (result f32)
    (local $sign i32)
    (local.set $sign (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16)))
    (if (result f32) (i32.eq (i32.and (local.get $h) (i32.const 0x7c00)) (i32.const 0x7c00))
      (then
        (f32.reinterpret_i32
          (i32.or (i32.or (local.get $sign) (i32.const 0x7f800000))
                  (i32.shl (i32.and (local.get $h) (i32.const 0x3ff)) (i32.const 13)))))
      (else
        ;; exponent and mantissa land in the f32 exponent/mantissa fields; times 2^112 rebiases (exact, also for
        ;; subnormal halves, which become f32 subnormals first)
        (f32.mul
          (f32.reinterpret_i32
            (i32.or (local.get $sign) (i32.shl (i32.and (local.get $h) (i32.const 0x7fff)) (i32.const 13))))
          (f32.const 0x1p112)))))

  (func $min_i32 (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; read bandwidth probe: sum of $bytes bytes of f32 at $p ($bytes a multiple of 128)

  (func (export "sum_f32") (param $p i32) (param $bytes i32) (result f32)
    (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $end (i32.add (local.get $p) (local.get $bytes)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (f32x4.add (local.get $a) (v128.load (local.get $p))))
        (local.set $b (f32x4.add (local.get $b) (v128.load offset=16 (local.get $p))))
        (local.set $c (f32x4.add (local.get $c) (v128.load offset=32 (local.get $p))))
        (local.set $d (f32x4.add (local.get $d) (v128.load offset=48 (local.get $p))))
        (local.set $a (f32x4.add (local.get $a) (v128.load offset=64 (local.get $p))))
        (local.set $b (f32x4.add (local.get $b) (v128.load offset=80 (local.get $p))))
        (local.set $c (f32x4.add (local.get $c) (v128.load offset=96 (local.get $p))))
        (local.set $d (f32x4.add (local.get $d) (v128.load offset=112 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 128)))
        (br $l)))
    (call $hsum (f32x4.add (f32x4.add (local.get $a) (local.get $b)) (f32x4.add (local.get $c) (local.get $d)))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; f32 weights. 8 columns per step, two accumulators per row.

  (func (export "matvec_f32") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $rb i32) (local $last i32) (local $end i32) (local $tend i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $px i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $xa v128) (local $xb v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $xs f32)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $cols) (i32.const -8)) (i32.const 2))))
    (local.set $tend (i32.add (local.get $x) (local.get $rb)))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $p1 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 1)) (local.get $last)) (local.get $rb))))
        (local.set $p2 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 2)) (local.get $last)) (local.get $rb))))
        (local.set $p3 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 3)) (local.get $last)) (local.get $rb))))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $b2 (v128.const i64x2 0 0)) (local.set $b3 (v128.const i64x2 0 0))
        (local.set $px (local.get $x))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $px) (local.get $end)))
            (local.set $xa (v128.load (local.get $px)))
            (local.set $xb (v128.load offset=16 (local.get $px)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (local.get $p0)) (local.get $xa))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.load offset=16 (local.get $p0)) (local.get $xb))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load (local.get $p1)) (local.get $xa))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.load offset=16 (local.get $p1)) (local.get $xb))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load (local.get $p2)) (local.get $xa))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.load offset=16 (local.get $p2)) (local.get $xb))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load (local.get $p3)) (local.get $xa))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.load offset=16 (local.get $p3)) (local.get $xb))))
            (local.set $px (i32.add (local.get $px) (i32.const 32)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 32)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 32)))
            (br $vloop)))
        (local.set $s0 (call $hsum (f32x4.add (local.get $a0) (local.get $b0))))
        (local.set $s1 (call $hsum (f32x4.add (local.get $a1) (local.get $b1))))
        (local.set $s2 (call $hsum (f32x4.add (local.get $a2) (local.get $b2))))
        (local.set $s3 (call $hsum (f32x4.add (local.get $a3) (local.get $b3))))
        ;; scalar tail: columns past the last multiple of 8
        (block $tdone
          (loop $tloop
            (br_if $tdone (i32.ge_u (local.get $px) (local.get $tend)))
            (local.set $xs (f32.load (local.get $px)))
            (local.set $s0 (f32.add (local.get $s0) (f32.mul (f32.load (local.get $p0)) (local.get $xs))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (f32.load (local.get $p1)) (local.get $xs))))
            (local.set $s2 (f32.add (local.get $s2) (f32.mul (f32.load (local.get $p2)) (local.get $xs))))
            (local.set $s3 (f32.add (local.get $s3) (f32.mul (f32.load (local.get $p3)) (local.get $xs))))
            (local.set $px (i32.add (local.get $px) (i32.const 4)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
            (br $tloop)))
        (call $store4 (local.get $y) (local.get $r) (local.get $rows) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop))))

  ;; y[r + k] = s_k for the rows of the group that exist
  (func $store4 (param $y i32) (param $r i32) (param $rows i32) (param $s0 f32) (param $s1 f32) (param $s2 f32) (param $s3 f32)
    (local $p i32)
    (local.set $p (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2))))
    (f32.store (local.get $p) (local.get $s0))
    (if (i32.lt_s (i32.add (local.get $r) (i32.const 1)) (local.get $rows)) (then (f32.store offset=4 (local.get $p) (local.get $s1))))
    (if (i32.lt_s (i32.add (local.get $r) (i32.const 2)) (local.get $rows)) (then (f32.store offset=8 (local.get $p) (local.get $s2))))
    (if (i32.lt_s (i32.add (local.get $r) (i32.const 3)) (local.get $rows)) (then (f32.store offset=12 (local.get $p) (local.get $s3)))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; x preparation for the 16-bit kernels: for every full block of 8 columns, writes (x0 x2 x4 x6)(x1 x3 x5 x7) * $scale
  ;; to $xs (32 bytes per block). Returns max |x| over those columns (NaN if any is NaN).

  (func (export "prep_x") (param $x i32) (param $xs i32) (param $cols i32) (param $scale f32) (result f32)
    (local $end i32) (local $lo v128) (local $hi v128) (local $sv v128) (local $m v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $cols) (i32.const -8)) (i32.const 2))))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $lo (v128.load (local.get $x)))
        (local.set $hi (v128.load offset=16 (local.get $x)))
        (local.set $m (f32x4.max (local.get $m) (f32x4.max (f32x4.abs (local.get $lo)) (f32x4.abs (local.get $hi)))))
        (v128.store (local.get $xs)
          (f32x4.mul (local.get $sv) (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $lo) (local.get $hi))))
        (v128.store offset=16 (local.get $xs)
          (f32x4.mul (local.get $sv) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $lo) (local.get $hi))))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (local.set $xs (i32.add (local.get $xs) (i32.const 32)))
        (br $l)))
    (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
      (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; bf16 weights (bf16 = the high half of an f32). $xs from prep_x(x, xs, cols, 1). Per row and 8 columns: one load;
  ;; the even weights are (v << 16), the odd ones (v & 0xffff0000). 16 columns per step.

  (func (export "matvec_bf16") (param $w i32) (param $xs i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $rb i32) (local $last i32) (local $nv i32) (local $end i32) (local $c i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $px i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $xe v128) (local $xo v128) (local $v v128) (local $hm v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $xv f32)
    (local.set $hm (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000))
    (local.set $rb (i32.shl (local.get $cols) (i32.const 1)))
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -8)))
    ;; the 16-column loop runs while a full 16 remain; one 8-column step may follow
    (local.set $end (i32.add (local.get $xs) (i32.shl (i32.and (local.get $cols) (i32.const -16)) (i32.const 2))))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $p1 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 1)) (local.get $last)) (local.get $rb))))
        (local.set $p2 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 2)) (local.get $last)) (local.get $rb))))
        (local.set $p3 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 3)) (local.get $last)) (local.get $rb))))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $b2 (v128.const i64x2 0 0)) (local.set $b3 (v128.const i64x2 0 0))
        (local.set $px (local.get $xs))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $px) (local.get $end)))
            ;; columns 0..7 of the step
            (local.set $xe (v128.load (local.get $px)))
            (local.set $xo (v128.load offset=16 (local.get $px)))
            (local.set $v (v128.load (local.get $p0)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p1)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p2)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p3)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            ;; columns 8..15
            (local.set $xe (v128.load offset=32 (local.get $px)))
            (local.set $xo (v128.load offset=48 (local.get $px)))
            (local.set $v (v128.load offset=16 (local.get $p0)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load offset=16 (local.get $p1)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load offset=16 (local.get $p2)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load offset=16 (local.get $p3)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $px (i32.add (local.get $px) (i32.const 64)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 32)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 32)))
            (br $vloop)))
        ;; one more 8-column step when cols mod 16 >= 8
        (if (i32.and (local.get $cols) (i32.const 8))
          (then
            (local.set $xe (v128.load (local.get $px)))
            (local.set $xo (v128.load offset=16 (local.get $px)))
            (local.set $v (v128.load (local.get $p0)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p1)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p2)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p3)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.and (local.get $v) (local.get $hm)) (local.get $xo))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))))
        (local.set $s0 (call $hsum (f32x4.add (local.get $a0) (local.get $b0))))
        (local.set $s1 (call $hsum (f32x4.add (local.get $a1) (local.get $b1))))
        (local.set $s2 (call $hsum (f32x4.add (local.get $a2) (local.get $b2))))
        (local.set $s3 (call $hsum (f32x4.add (local.get $a3) (local.get $b3))))
        ;; scalar tail from the original x
        (local.set $c (local.get $nv))
        (block $tdone
          (loop $tloop
            (br_if $tdone (i32.ge_s (local.get $c) (local.get $cols)))
            (local.set $xv (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $s0 (f32.add (local.get $s0) (f32.mul (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p0)) (i32.const 16))) (local.get $xv))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p1)) (i32.const 16))) (local.get $xv))))
            (local.set $s2 (f32.add (local.get $s2) (f32.mul (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p2)) (i32.const 16))) (local.get $xv))))
            (local.set $s3 (f32.add (local.get $s3) (f32.mul (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p3)) (i32.const 16))) (local.get $xv))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 2)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 2)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 2)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 2)))
            (br $tloop)))
        (call $store4 (local.get $y) (local.get $r) (local.get $rows) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; f16 weights. $xs from prep_x(x, xs, cols, 2^56); the caller checks max|x| < 2^70 first (else it uses
  ;; matvec_f16_exact). Decode of 8 packed halves v (even lanes e, odd lanes o), per lane:
  ;;   e = ((v << 16) >>s 3) & 0x8fffffff    o = (v >>s 3) & 0x8fffe000
  ;; puts sign, exponent and mantissa of the half into the f32 fields; read as f32 that is w * 2^-112 (exactly, with
  ;; subnormal halves becoming f32 subnormals). The 2^112 is split: 2^56 went into xs, 2^56 is applied per row at the
  ;; end, so products w*x*2^-56 stay in range. Infinite/NaN halves (exponent 31) would decode as finite numbers: the
  ;; loop keeps the unsigned max of (v << 1) per 16-bit lane; a group whose max reaches 0xf800 is redone exactly.
  ;; 16 columns per step.

  (func (export "matvec_f16") (param $w i32) (param $xs i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $rb i32) (local $last i32) (local $nv i32) (local $end i32) (local $c i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $px i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $xe v128) (local $xo v128) (local $v v128) (local $me v128) (local $mo v128) (local $flag v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $xv f32)
    (local.set $me (v128.const i32x4 0x8fffffff 0x8fffffff 0x8fffffff 0x8fffffff))
    (local.set $mo (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000))
    (local.set $rb (i32.shl (local.get $cols) (i32.const 1)))
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -8)))
    (local.set $end (i32.add (local.get $xs) (i32.shl (i32.and (local.get $cols) (i32.const -16)) (i32.const 2))))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $p1 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 1)) (local.get $last)) (local.get $rb))))
        (local.set $p2 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 2)) (local.get $last)) (local.get $rb))))
        (local.set $p3 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 3)) (local.get $last)) (local.get $rb))))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0)) (local.set $b1 (v128.const i64x2 0 0))
        (local.set $b2 (v128.const i64x2 0 0)) (local.set $b3 (v128.const i64x2 0 0))
        (local.set $flag (v128.const i64x2 0 0))
        (local.set $px (local.get $xs))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $px) (local.get $end)))
            ;; columns 0..7
            (local.set $xe (v128.load (local.get $px)))
            (local.set $xo (v128.load offset=16 (local.get $px)))
            (local.set $v (v128.load (local.get $p0)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p1)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p2)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p3)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            ;; columns 8..15
            (local.set $xe (v128.load offset=32 (local.get $px)))
            (local.set $xo (v128.load offset=48 (local.get $px)))
            (local.set $v (v128.load offset=16 (local.get $p0)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load offset=16 (local.get $p1)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load offset=16 (local.get $p2)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load offset=16 (local.get $p3)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $px (i32.add (local.get $px) (i32.const 64)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 32)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 32)))
            (br $vloop)))
        (if (i32.and (local.get $cols) (i32.const 8))
          (then
            (local.set $xe (v128.load (local.get $px)))
            (local.set $xo (v128.load offset=16 (local.get $px)))
            (local.set $v (v128.load (local.get $p0)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p1)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p2)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $v (v128.load (local.get $p3)))
            (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (local.get $v) (i32.const 1))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.and (i32x4.shr_s (i32x4.shl (local.get $v) (i32.const 16)) (i32.const 3)) (local.get $me)) (local.get $xe))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (v128.and (i32x4.shr_s (local.get $v) (i32.const 3)) (local.get $mo)) (local.get $xo))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))))
        (local.set $s0 (f32.mul (call $hsum (f32x4.add (local.get $a0) (local.get $b0))) (f32.const 0x1p56)))
        (local.set $s1 (f32.mul (call $hsum (f32x4.add (local.get $a1) (local.get $b1))) (f32.const 0x1p56)))
        (local.set $s2 (f32.mul (call $hsum (f32x4.add (local.get $a2) (local.get $b2))) (f32.const 0x1p56)))
        (local.set $s3 (f32.mul (call $hsum (f32x4.add (local.get $a3) (local.get $b3))) (f32.const 0x1p56)))
        (local.set $c (local.get $nv))
        (block $tdone
          (loop $tloop
            (br_if $tdone (i32.ge_s (local.get $c) (local.get $cols)))
            (local.set $xv (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $s0 (f32.add (local.get $s0) (f32.mul (call $f16 (i32.load16_u (local.get $p0))) (local.get $xv))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (call $f16 (i32.load16_u (local.get $p1))) (local.get $xv))))
            (local.set $s2 (f32.add (local.get $s2) (f32.mul (call $f16 (i32.load16_u (local.get $p2))) (local.get $xv))))
            (local.set $s3 (f32.add (local.get $s3) (f32.mul (call $f16 (i32.load16_u (local.get $p3))) (local.get $xv))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 2)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 2)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 2)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 2)))
            (br $tloop)))
        (call $store4 (local.get $y) (local.get $r) (local.get $rows) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3))
        ;; an infinite or NaN half anywhere in the group: redo its rows with the exact scalar decode
        (if (v128.any_true (i16x8.ge_u (local.get $flag) (v128.const i16x8 0xf800 0xf800 0xf800 0xf800 0xf800 0xf800 0xf800 0xf800)))
          (then
            (call $f16_rows_exact (local.get $w) (local.get $x) (local.get $y) (local.get $r)
              (call $min_i32 (i32.add (local.get $r) (i32.const 4)) (local.get $rows)) (local.get $cols))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop))))

  ;; rows [r0, r1) of an f16 matvec, one element at a time with the exact scalar decode (f32 accumulation)
  (func $f16_rows_exact (param $w i32) (param $x i32) (param $y i32) (param $r0 i32) (param $r1 i32) (param $cols i32)
    (local $p i32) (local $c i32) (local $s f32)
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r0) (local.get $r1)))
        (local.set $p (i32.add (local.get $w) (i32.mul (local.get $r0) (i32.shl (local.get $cols) (i32.const 1)))))
        (local.set $s (f32.const 0))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_s (local.get $c) (local.get $cols)))
            (local.set $s (f32.add (local.get $s)
              (f32.mul (call $f16 (i32.load16_u (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 1)))))
                       (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r0) (i32.const 2))) (local.get $s))
        (local.set $r0 (i32.add (local.get $r0) (i32.const 1)))
        (br $rloop))))

  (func (export "matvec_f16_exact") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (call $f16_rows_exact (local.get $w) (local.get $x) (local.get $y) (i32.const 0) (local.get $rows) (local.get $cols)))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; int8 weights with one f32 scale per row. x is quantised once per call to int16 with one scale
  ;; (xq = round(x * 32767 / max|x|), by quantize_x_i16) over the first cols & ~15 columns; the columns past that use
  ;; f32 x directly. Per row and 16 columns: two sign-extending 8-byte loads (i8 -> i16x8), two i32x4.dot_i16x8_s with
  ;; xq, summed into i32x4 accumulators. |w| <= 128 and |xq| <= 32767, so one step adds at most 16,776,704 per lane;
  ;; the i32 accumulators are flushed into f32 every 1024 columns (64 steps, < 2^31).
  ;;   y[r] = scale[r] * (xscale * sum(q * xq) + sum_tail(q * x))

  (func (export "quantize_x_i16") (param $x i32) (param $xq i32) (param $cols i32) (result f32)
    (local $end i32) (local $p i32) (local $m v128) (local $mx f32) (local $inv v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $cols) (i32.const -16)) (i32.const 2))))
    (local.set $p (local.get $x))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $m (f32x4.max (local.get $m)
          (f32x4.max (f32x4.max (f32x4.abs (v128.load (local.get $p))) (f32x4.abs (v128.load offset=16 (local.get $p))))
                     (f32x4.max (f32x4.abs (v128.load offset=32 (local.get $p))) (f32x4.abs (v128.load offset=48 (local.get $p)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $l)))
    (local.set $mx (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
      (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
    ;; not finite (or NaN): report it; the caller takes the exact path. All zero: xq = 0, scale 0.
    (if (i32.eqz (f32.lt (local.get $mx) (f32.const inf))) (then (return (local.get $mx))))
    (local.set $inv (f32x4.splat
      (select (f32.div (f32.const 32767) (local.get $mx)) (f32.const 0) (f32.gt (local.get $mx) (f32.const 0)))))
    (local.set $p (local.get $x))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $xq)
          (i16x8.narrow_i32x4_s
            (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load (local.get $p)) (local.get $inv))))
            (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $inv))))))
        (v128.store offset=16 (local.get $xq)
          (i16x8.narrow_i32x4_s
            (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $inv))))
            (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $inv))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $xq (i32.add (local.get $xq) (i32.const 32)))
        (br $l2)))
    (f32.div (local.get $mx) (f32.const 32767)))

  (func (export "matvec_i8") (param $w i32) (param $scales i32) (param $xq i32) (param $xscale f32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $last i32) (local $nv i32) (local $end i32) (local $bend i32) (local $c i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $px i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $f0 v128) (local $f1 v128) (local $f2 v128) (local $f3 v128)
    (local $xa v128) (local $xb v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32)
    (local $t0 f32) (local $t1 f32) (local $t2 f32) (local $t3 f32) (local $xv f32)
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -16)))
    (local.set $end (i32.add (local.get $xq) (i32.shl (local.get $nv) (i32.const 1))))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $cols))))
        (local.set $p1 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 1)) (local.get $last)) (local.get $cols))))
        (local.set $p2 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 2)) (local.get $last)) (local.get $cols))))
        (local.set $p3 (i32.add (local.get $w) (i32.mul (call $min_i32 (i32.add (local.get $r) (i32.const 3)) (local.get $last)) (local.get $cols))))
        (local.set $f0 (v128.const i64x2 0 0)) (local.set $f1 (v128.const i64x2 0 0))
        (local.set $f2 (v128.const i64x2 0 0)) (local.set $f3 (v128.const i64x2 0 0))
        (local.set $px (local.get $xq))
        (block $bdone
          (loop $bloop
            (br_if $bdone (i32.ge_u (local.get $px) (local.get $end)))
            ;; one block of at most 1024 columns (2048 bytes of xq)
            (local.set $bend (select (local.get $end) (i32.add (local.get $px) (i32.const 2048))
              (i32.lt_u (i32.sub (local.get $end) (local.get $px)) (i32.const 2048))))
            (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
            (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
            (block $vdone
              (loop $vloop
                (br_if $vdone (i32.ge_u (local.get $px) (local.get $bend)))
                (local.set $xa (v128.load (local.get $px)))
                (local.set $xb (v128.load offset=16 (local.get $px)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p0)) (local.get $xa))
                  (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p0)) (local.get $xb)))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p1)) (local.get $xa))
                  (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p1)) (local.get $xb)))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p2)) (local.get $xa))
                  (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p2)) (local.get $xb)))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p3)) (local.get $xa))
                  (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p3)) (local.get $xb)))))
                (local.set $px (i32.add (local.get $px) (i32.const 32)))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
                (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
                (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
                (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
                (br $vloop)))
            (local.set $f0 (f32x4.add (local.get $f0) (f32x4.convert_i32x4_s (local.get $a0))))
            (local.set $f1 (f32x4.add (local.get $f1) (f32x4.convert_i32x4_s (local.get $a1))))
            (local.set $f2 (f32x4.add (local.get $f2) (f32x4.convert_i32x4_s (local.get $a2))))
            (local.set $f3 (f32x4.add (local.get $f3) (f32x4.convert_i32x4_s (local.get $a3))))
            (br $bloop)))
        (local.set $t0 (f32.const 0)) (local.set $t1 (f32.const 0))
        (local.set $t2 (f32.const 0)) (local.set $t3 (f32.const 0))
        (local.set $c (local.get $nv))
        (block $tdone
          (loop $tloop
            (br_if $tdone (i32.ge_s (local.get $c) (local.get $cols)))
            (local.set $xv (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $t0 (f32.add (local.get $t0) (f32.mul (f32.convert_i32_s (i32.load8_s (local.get $p0))) (local.get $xv))))
            (local.set $t1 (f32.add (local.get $t1) (f32.mul (f32.convert_i32_s (i32.load8_s (local.get $p1))) (local.get $xv))))
            (local.set $t2 (f32.add (local.get $t2) (f32.mul (f32.convert_i32_s (i32.load8_s (local.get $p2))) (local.get $xv))))
            (local.set $t3 (f32.add (local.get $t3) (f32.mul (f32.convert_i32_s (i32.load8_s (local.get $p3))) (local.get $xv))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 1)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 1)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 1)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 1)))
            (br $tloop)))
        (local.set $s0 (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2))))
          (f32.add (f32.mul (call $hsum (local.get $f0)) (local.get $xscale)) (local.get $t0))))
        (local.set $s1 (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (call $min_i32 (i32.add (local.get $r) (i32.const 1)) (local.get $last)) (i32.const 2))))
          (f32.add (f32.mul (call $hsum (local.get $f1)) (local.get $xscale)) (local.get $t1))))
        (local.set $s2 (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (call $min_i32 (i32.add (local.get $r) (i32.const 2)) (local.get $last)) (i32.const 2))))
          (f32.add (f32.mul (call $hsum (local.get $f2)) (local.get $xscale)) (local.get $t2))))
        (local.set $s3 (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (call $min_i32 (i32.add (local.get $r) (i32.const 3)) (local.get $last)) (i32.const 2))))
          (f32.add (f32.mul (call $hsum (local.get $f3)) (local.get $xscale)) (local.get $t3))))
        (call $store4 (local.get $y) (local.get $r) (local.get $rows) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop))))

  ;; int8 without quantising x (for x that is not finite): f32 products, f32 accumulation, one element at a time
  (func (export "matvec_i8_exact") (param $w i32) (param $scales i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $p i32) (local $s f32)
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $p (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $cols))))
        (local.set $s (f32.const 0))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_s (local.get $c) (local.get $cols)))
            (local.set $s (f32.add (local.get $s)
              (f32.mul (f32.convert_i32_s (i32.load8_s (i32.add (local.get $p) (local.get $c))))
                       (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))
          (f32.mul (local.get $s) (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop))))
)
