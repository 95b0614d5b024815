;; Matvec kernels y = W·x, W row-major (rows = outDim, cols = inDim), f32 accumulation, WebAssembly SIMD.
;; Hand-written; assembled by scripts/build-wasm.mjs into matvec.wasm.gen.ts and driven from kernels/wasmKernels.ts.
;;
;; Structure of every kernel:
;;  - an exported driver walks the rows in groups (4 rows for f32, 6 for f16, 8 for bf16 and int8: several weight
;;    streams read side by side, each x vector loaded once per group). The last, partial group re-reads the last row
;;    in place of the missing ones and stores only the rows that exist.
;;  - the hot loop of a group lives in its own small function ($g_*), so that V8's register allocator keeps every
;;    accumulator in a register (in one big function it spilled them to the stack inside the loop). It returns one
;;    f32 per row (multi-value).
;;  - the columns past the last full vector step (cols mod 8, or mod 16 for int8) are done per row by a scalar
;;    $tail_* function.
;; Helpers that take v128 are inlined by hand inside the loops: V8 on Node 20 does not inline small wasm functions with
;; v128 parameters (shared/notes/toolchain.md pitfall 8). Only $hsum (once per row) is such a call, outside the loops.
;;
;; All addresses are byte offsets into the imported shared memory; unaligned addresses are allowed (16-byte aligned
;; ones are faster). The bf16 and f16 kernels read x from a scratch copy made by prep_x: for every full block of 8
;; columns, (x0 x2 x4 x6)(x1 x3 x5 x7), optionally scaled, so 8 packed 16-bit weights decode with a couple of bit
;; operations into an even-lane and an odd-lane f32x4.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; scalar helpers

  ;; horizontal sum of an f32x4 (called once per row, never inside a loop)
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; exact IEEE half (bits in the low 16 bits of $h) -> f32: subnormals, infinities and NaN included
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
        ;; subnormal halves, which are f32 subnormals before the multiply)
        (f32.mul
          (f32.reinterpret_i32
            (i32.or (local.get $sign) (i32.shl (i32.and (local.get $h) (i32.const 0x7fff)) (i32.const 13))))
          (f32.const 0x1p112)))))

  (func $min_i32 (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))

  ;; address of row min(r, last) of a matrix at $w with $rb bytes per row
  (func $row (param $w i32) (param $r i32) (param $last i32) (param $rb i32) (result i32)
    (i32.add (local.get $w) (i32.mul (call $min_i32 (local.get $r) (local.get $last)) (local.get $rb))))

  ;; row of slot $k in group $g. Each of a driver's R row streams walks its own band of $n = ceil(rows / R) consecutive
  ;; rows, so every stream reads one contiguous run of memory, the pattern the hardware prefetchers follow best (groups
  ;; of R adjacent rows made every stream jump R - 1 rows ahead after each row: int8 at 4096² read 0.65 of the
  ;; bandwidth that way). Stream k starts at its own phase of its band (a pseudo-random fraction h(k)/1024 of n) and
  ;; wraps around, so the addresses read at one time are neither a power of two apart (equal bands of a 4096² or 8192²
  ;; matrix are) nor in arithmetic progression: on this machine both cost 10-25% (DRAM bank conflicts; any common
  ;; offset hit some dtype and size: e.g. n/32 rows made int8 and bf16 4096² read at 0.6-0.7 of the bandwidth).
  ;;   slot k of group g = k·n + (g + n·h(k)/1024) mod n,   h(k) = (617k + 211k²) mod 1024
  (func $slot (param $g i32) (param $k i32) (param $n i32) (result i32)
    (i32.add (i32.mul (local.get $k) (local.get $n))
      (i32.rem_u
        (i32.add (local.get $g)
          (i32.shr_u
            (i32.mul (local.get $n)
              (i32.and (i32.add (i32.mul (local.get $k) (i32.const 617)) (i32.mul (i32.mul (local.get $k) (local.get $k)) (i32.const 211)))
                (i32.const 1023)))
            (i32.const 10)))
        (local.get $n))))

  ;; scalar tails: sum over n columns of w (at $p, in the given dtype) times x (f32 at $x)
  (func $tail_f32 (param $p i32) (param $x i32) (param $n i32) (result f32)
    (local $s f32)
    (block $done
      (loop $l
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $p)) (f32.load (local.get $x)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $s))

  (func $tail_bf16 (param $p i32) (param $x i32) (param $n i32) (result f32)
    (local $s f32)
    (block $done
      (loop $l
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $s (f32.add (local.get $s)
          (f32.mul (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p)) (i32.const 16))) (f32.load (local.get $x)))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $s))

  (func $tail_f16 (param $p i32) (param $x i32) (param $n i32) (result f32)
    (local $s f32)
    (block $done
      (loop $l
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $s (f32.add (local.get $s) (f32.mul (call $f16 (i32.load16_u (local.get $p))) (f32.load (local.get $x)))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $s))

  (func $tail_i8 (param $p i32) (param $x i32) (param $n i32) (result f32)
    (local $s f32)
    (block $done
      (loop $l
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $s (f32.add (local.get $s)
          (f32.mul (f32.convert_i32_s (i32.load8_s (local.get $p))) (f32.load (local.get $x)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $s))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; read-bandwidth probes: the f32 sum of $bytes bytes ($bytes a multiple of 128) read as 4 or 8 streams side by side,
  ;; as the matvec kernels read their row bands. Stream k reads the k-th quarter (eighth) of the bytes, starting at
  ;; $p + k·(bytes/4 + $gap): a $gap of 64 KiB keeps the streams from being a power of two apart (see $slot), and the
  ;; caller's region is then bytes + 3 (7) gaps long; the gaps are not read.

  (func (export "sum_f32") (param $p i32) (param $bytes i32) (param $gap i32) (result f32)
    (local $q i32) (local $r i32) (local $s i32) (local $end i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $bytes (i32.shr_u (local.get $bytes) (i32.const 2)))
    (local.set $end (i32.add (local.get $p) (local.get $bytes)))
    (local.set $q (i32.add (local.get $end) (local.get $gap)))
    (local.set $r (i32.add (local.get $q) (i32.add (local.get $bytes) (local.get $gap))))
    (local.set $s (i32.add (local.get $r) (i32.add (local.get $bytes) (local.get $gap))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (f32x4.add (local.get $a) (f32x4.add (v128.load (local.get $p)) (v128.load offset=16 (local.get $p)))))
        (local.set $b (f32x4.add (local.get $b) (f32x4.add (v128.load (local.get $q)) (v128.load offset=16 (local.get $q)))))
        (local.set $c (f32x4.add (local.get $c) (f32x4.add (v128.load (local.get $r)) (v128.load offset=16 (local.get $r)))))
        (local.set $d (f32x4.add (local.get $d) (f32x4.add (v128.load (local.get $s)) (v128.load offset=16 (local.get $s)))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (local.set $r (i32.add (local.get $r) (i32.const 32)))
        (local.set $s (i32.add (local.get $s) (i32.const 32)))
        (br $l)))
    (call $hsum (f32x4.add (f32x4.add (local.get $a) (local.get $b)) (f32x4.add (local.get $c) (local.get $d)))))

  (func (export "sum_f32_8") (param $p i32) (param $bytes i32) (param $gap i32) (result f32)
    (local $e i32) (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $end (i32.add (local.get $p) (i32.shr_u (local.get $bytes) (i32.const 3))))
    (local.set $e (i32.add (i32.shr_u (local.get $bytes) (i32.const 3)) (local.get $gap)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (f32x4.add (local.get $a) (f32x4.add (v128.load (local.get $p))
          (v128.load (i32.add (local.get $p) (local.get $e))))))
        (local.set $b (f32x4.add (local.get $b) (f32x4.add (v128.load (i32.add (local.get $p) (i32.shl (local.get $e) (i32.const 1))))
          (v128.load (i32.add (local.get $p) (i32.mul (local.get $e) (i32.const 3)))))))
        (local.set $c (f32x4.add (local.get $c) (f32x4.add (v128.load (i32.add (local.get $p) (i32.shl (local.get $e) (i32.const 2))))
          (v128.load (i32.add (local.get $p) (i32.mul (local.get $e) (i32.const 5)))))))
        (local.set $d (f32x4.add (local.get $d) (f32x4.add (v128.load (i32.add (local.get $p) (i32.mul (local.get $e) (i32.const 6))))
          (v128.load (i32.add (local.get $p) (i32.mul (local.get $e) (i32.const 7)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $l)))
    (call $hsum (f32x4.add (f32x4.add (local.get $a) (local.get $b)) (f32x4.add (local.get $c) (local.get $d)))))

  ;; the same sum read as one stream
  (func (export "sum_f32_1") (param $p i32) (param $bytes i32) (result f32)
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
  ;; f32 weights: groups of 4 rows, 8 columns per step, two accumulators per row.

  (func (export "matvec_f32") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $n i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $rb i32) (local $last i32) (local $nv i32) (local $vb i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -8)))
    (local.set $vb (i32.shl (local.get $nv) (i32.const 2)))
    (local.set $n (i32.div_u (i32.add (local.get $rows) (i32.const 3)) (i32.const 4)))
    (block $done
      (loop $group
        (br_if $done (i32.ge_s (local.get $r) (local.get $n)))
        ;; the group's rows (slot 0 is row $r)
        (local.set $r1 (call $slot (local.get $r) (i32.const 1) (local.get $n)))
        (local.set $r2 (call $slot (local.get $r) (i32.const 2) (local.get $n)))
        (local.set $r3 (call $slot (local.get $r) (i32.const 3) (local.get $n)))
        (local.set $q0 (call $row (local.get $w) (local.get $r) (local.get $last) (local.get $rb)))
        (local.set $q1 (call $row (local.get $w) (local.get $r1) (local.get $last) (local.get $rb)))
        (local.set $q2 (call $row (local.get $w) (local.get $r2) (local.get $last) (local.get $rb)))
        (local.set $q3 (call $row (local.get $w) (local.get $r3) (local.get $last) (local.get $rb)))
        (call $g_f32 (local.get $q0) (local.get $q1) (local.get $q2) (local.get $q3)
          (local.get $x) (i32.add (local.get $x) (local.get $vb)))
        (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (if (i32.lt_s (local.get $r) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))
            (f32.add (local.get $s0)
              (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                (then (call $tail_f32 (i32.add (local.get $q0) (local.get $vb)) (i32.add (local.get $x) (local.get $vb)) (i32.sub (local.get $cols) (local.get $nv))))
                (else (f32.const 0)))))))
        (if (i32.lt_s (local.get $r1) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r1) (i32.const 2)))
            (f32.add (local.get $s1)
              (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                (then (call $tail_f32 (i32.add (local.get $q1) (local.get $vb)) (i32.add (local.get $x) (local.get $vb)) (i32.sub (local.get $cols) (local.get $nv))))
                (else (f32.const 0)))))))
        (if (i32.lt_s (local.get $r2) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r2) (i32.const 2)))
            (f32.add (local.get $s2)
              (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                (then (call $tail_f32 (i32.add (local.get $q2) (local.get $vb)) (i32.add (local.get $x) (local.get $vb)) (i32.sub (local.get $cols) (local.get $nv))))
                (else (f32.const 0)))))))
        (if (i32.lt_s (local.get $r3) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r3) (i32.const 2)))
            (f32.add (local.get $s3)
              (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                (then (call $tail_f32 (i32.add (local.get $q3) (local.get $vb)) (i32.add (local.get $x) (local.get $vb)) (i32.sub (local.get $cols) (local.get $nv))))
                (else (f32.const 0)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $group))))

  (func $g_f32 (param $p0 i32) (param $p1 i32) (param $p2 i32) (param $p3 i32) (param $px i32) (param $end i32) (result f32 f32 f32 f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $xa v128) (local $xb v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
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
        (br $step)))
    (call $hsum (f32x4.add (local.get $a0) (local.get $b0)))
    (call $hsum (f32x4.add (local.get $a1) (local.get $b1)))
    (call $hsum (f32x4.add (local.get $a2) (local.get $b2)))
    (call $hsum (f32x4.add (local.get $a3) (local.get $b3))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; bf16 weights (a bf16 is the high half of an f32): groups of 8 rows, 8 columns per step. $xs from
  ;; prep_x(x, xs, cols, 1). Per row and step: one 16-byte load v; the even weights are v << 16, the odd ones
  ;; v & 0xffff0000. (The mask is passed to $g_bf16 as a v128 parameter: as a constant, or as a splat of an i32
  ;; parameter, V8 rebuilt it in every iteration.)

  (func (export "matvec_bf16") (param $w i32) (param $xs i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $n i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $r5 i32) (local $r6 i32) (local $r7 i32) (local $k i32) (local $rb i32) (local $last i32) (local $nv i32) (local $vb i32) (local $xt i32) (local $yp i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32) (local $q4 i32) (local $q5 i32) (local $q6 i32) (local $q7 i32)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $s4 f32) (local $s5 f32) (local $s6 f32) (local $s7 f32)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 1)))
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -8)))
    (local.set $vb (i32.shl (local.get $nv) (i32.const 1)))
    (local.set $xt (i32.add (local.get $x) (i32.shl (local.get $nv) (i32.const 2))))
    (local.set $n (i32.div_u (i32.add (local.get $rows) (i32.const 7)) (i32.const 8)))
    (block $done
      (loop $group
        (br_if $done (i32.ge_s (local.get $r) (local.get $n)))
        ;; the group's rows (slot 0 is row $r)
        (local.set $r1 (call $slot (local.get $r) (i32.const 1) (local.get $n)))
        (local.set $r2 (call $slot (local.get $r) (i32.const 2) (local.get $n)))
        (local.set $r3 (call $slot (local.get $r) (i32.const 3) (local.get $n)))
        (local.set $r4 (call $slot (local.get $r) (i32.const 4) (local.get $n)))
        (local.set $r5 (call $slot (local.get $r) (i32.const 5) (local.get $n)))
        (local.set $r6 (call $slot (local.get $r) (i32.const 6) (local.get $n)))
        (local.set $r7 (call $slot (local.get $r) (i32.const 7) (local.get $n)))
        (local.set $q0 (call $row (local.get $w) (local.get $r) (local.get $last) (local.get $rb)))
        (local.set $q1 (call $row (local.get $w) (local.get $r1) (local.get $last) (local.get $rb)))
        (local.set $q2 (call $row (local.get $w) (local.get $r2) (local.get $last) (local.get $rb)))
        (local.set $q3 (call $row (local.get $w) (local.get $r3) (local.get $last) (local.get $rb)))
        (local.set $q4 (call $row (local.get $w) (local.get $r4) (local.get $last) (local.get $rb)))
        (local.set $q5 (call $row (local.get $w) (local.get $r5) (local.get $last) (local.get $rb)))
        (local.set $q6 (call $row (local.get $w) (local.get $r6) (local.get $last) (local.get $rb)))
        (local.set $q7 (call $row (local.get $w) (local.get $r7) (local.get $last) (local.get $rb)))
        (call $g_bf16 (local.get $q0) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4) (local.get $q5) (local.get $q6) (local.get $q7)
          (local.get $xs) (i32.add (local.get $xs) (i32.shl (local.get $nv) (i32.const 2))) (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000))
        (local.set $s7) (local.set $s6) (local.set $s5) (local.set $s4) (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (if (i32.lt_s (local.get $r) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))
            (local.get $s0))))
        (if (i32.lt_s (local.get $r1) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r1) (i32.const 2)))
            (local.get $s1))))
        (if (i32.lt_s (local.get $r2) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r2) (i32.const 2)))
            (local.get $s2))))
        (if (i32.lt_s (local.get $r3) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r3) (i32.const 2)))
            (local.get $s3))))
        (if (i32.lt_s (local.get $r4) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r4) (i32.const 2)))
            (local.get $s4))))
        (if (i32.lt_s (local.get $r5) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r5) (i32.const 2)))
            (local.get $s5))))
        (if (i32.lt_s (local.get $r6) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r6) (i32.const 2)))
            (local.get $s6))))
        (if (i32.lt_s (local.get $r7) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r7) (i32.const 2)))
            (local.get $s7))))
        ;; scalar tail columns of each row of the group
        (if (i32.lt_s (local.get $nv) (local.get $cols))
          (then
            (local.set $k (i32.const 0))
            (block $tdone
              (loop $tails
                (br_if $tdone (i32.ge_s (call $slot (local.get $r) (local.get $k) (local.get $n)) (local.get $rows)))
                (local.set $yp (i32.add (local.get $y) (i32.shl (call $slot (local.get $r) (local.get $k) (local.get $n)) (i32.const 2))))
                (f32.store (local.get $yp) (f32.add (f32.load (local.get $yp))
                  (call $tail_bf16 (i32.add (call $row (local.get $w) (call $slot (local.get $r) (local.get $k) (local.get $n)) (local.get $last) (local.get $rb)) (local.get $vb))
                    (local.get $xt) (i32.sub (local.get $cols) (local.get $nv)))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br_if $tails (i32.lt_s (local.get $k) (i32.const 8)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $group))))

  (func $g_bf16 (param $p0 i32) (param $p1 i32) (param $p2 i32) (param $p3 i32) (param $p4 i32) (param $p5 i32) (param $p6 i32) (param $p7 i32) (param $px i32) (param $end i32) (param $hi v128) (result f32 f32 f32 f32 f32 f32 f32 f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $xe v128) (local $xo v128) (local $v v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (local.set $xe (v128.load (local.get $px)))
        (local.set $xo (v128.load offset=16 (local.get $px)))
        (local.set $v (v128.load (local.get $p0)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p1)))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p2)))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p3)))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p4)))
        (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p5)))
        (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p6)))
        (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $v (v128.load (local.get $p7)))
        (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (i32x4.shl (local.get $v) (i32.const 16)) (local.get $xe))))
        (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (v128.and (local.get $v) (local.get $hi)) (local.get $xo))))
        (local.set $px (i32.add (local.get $px) (i32.const 32)))
        (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
        (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
        (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
        (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
        (local.set $p4 (i32.add (local.get $p4) (i32.const 16)))
        (local.set $p5 (i32.add (local.get $p5) (i32.const 16)))
        (local.set $p6 (i32.add (local.get $p6) (i32.const 16)))
        (local.set $p7 (i32.add (local.get $p7) (i32.const 16)))
        (br $step)))
    (call $hsum (local.get $a0))
    (call $hsum (local.get $a1))
    (call $hsum (local.get $a2))
    (call $hsum (local.get $a3))
    (call $hsum (local.get $a4))
    (call $hsum (local.get $a5))
    (call $hsum (local.get $a6))
    (call $hsum (local.get $a7)))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; f16 weights: groups of 6 rows, 8 columns per step. $xs from prep_x(x, xs, cols, 2^56); the caller checks
  ;; max|x| < 2^70 first (else it calls matvec_f16_exact). Decode of 8 packed halves v (loaded at p) and u (loaded at
  ;; p - 2, so its 32-bit lanes hold the even halves in their high 16 bits), per lane:
  ;;   odd = (v >>s 3) & 0x8fffe000      even = (u >>s 3) & 0x8fffe000
  ;; puts the half's sign, exponent and mantissa into the f32 fields (the >>s smears the sign over bits 28-30, the mask
  ;; clears them and the neighbouring half's bits below bit 13); read as f32 that is w · 2^-112 exactly (subnormal
  ;; halves become f32 subnormals). The 2^112 is split: 2^56 went into xs, 2^56 is applied per row at the end, so the
  ;; products w·x·2^-56 stay in range. Infinite/NaN halves (exponent 31) would decode as finite numbers: the loop keeps
  ;; the unsigned max of (v << 1) per 16-bit lane, and a group that saw one (>= 0xf800) is redone exactly.
  ;; (6 rows, not 8: with 8, V8 ran out of vector registers and spilled accumulators inside the loop. The load at p - 2
  ;; reads 2 bytes before the first row: the kernels' offsets are >= 64, the allocator header. The mask is a v128
  ;; parameter, as in $g_bf16.)

  (func (export "matvec_f16") (param $w i32) (param $xs i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $n i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $r5 i32) (local $k i32) (local $rb i32) (local $last i32) (local $nv i32) (local $vb i32) (local $xt i32) (local $yp i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32) (local $q4 i32) (local $q5 i32)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $s4 f32) (local $s5 f32) (local $bad i32)
    (local.set $rb (i32.shl (local.get $cols) (i32.const 1)))
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -8)))
    (local.set $vb (i32.shl (local.get $nv) (i32.const 1)))
    (local.set $xt (i32.add (local.get $x) (i32.shl (local.get $nv) (i32.const 2))))
    (local.set $n (i32.div_u (i32.add (local.get $rows) (i32.const 5)) (i32.const 6)))
    (block $done
      (loop $group
        (br_if $done (i32.ge_s (local.get $r) (local.get $n)))
        ;; the group's rows (slot 0 is row $r)
        (local.set $r1 (call $slot (local.get $r) (i32.const 1) (local.get $n)))
        (local.set $r2 (call $slot (local.get $r) (i32.const 2) (local.get $n)))
        (local.set $r3 (call $slot (local.get $r) (i32.const 3) (local.get $n)))
        (local.set $r4 (call $slot (local.get $r) (i32.const 4) (local.get $n)))
        (local.set $r5 (call $slot (local.get $r) (i32.const 5) (local.get $n)))
        (local.set $q0 (call $row (local.get $w) (local.get $r) (local.get $last) (local.get $rb)))
        (local.set $q1 (call $row (local.get $w) (local.get $r1) (local.get $last) (local.get $rb)))
        (local.set $q2 (call $row (local.get $w) (local.get $r2) (local.get $last) (local.get $rb)))
        (local.set $q3 (call $row (local.get $w) (local.get $r3) (local.get $last) (local.get $rb)))
        (local.set $q4 (call $row (local.get $w) (local.get $r4) (local.get $last) (local.get $rb)))
        (local.set $q5 (call $row (local.get $w) (local.get $r5) (local.get $last) (local.get $rb)))
        (call $g_f16 (local.get $q0) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4) (local.get $q5)
          (local.get $xs) (i32.add (local.get $xs) (i32.shl (local.get $nv) (i32.const 2))) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000))
        (local.set $bad) (local.set $s5) (local.set $s4) (local.set $s3) (local.set $s2) (local.set $s1) (local.set $s0)
        (if (i32.lt_s (local.get $r) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))
            (f32.mul (local.get $s0) (f32.const 0x1p56)))))
        (if (i32.lt_s (local.get $r1) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r1) (i32.const 2)))
            (f32.mul (local.get $s1) (f32.const 0x1p56)))))
        (if (i32.lt_s (local.get $r2) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r2) (i32.const 2)))
            (f32.mul (local.get $s2) (f32.const 0x1p56)))))
        (if (i32.lt_s (local.get $r3) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r3) (i32.const 2)))
            (f32.mul (local.get $s3) (f32.const 0x1p56)))))
        (if (i32.lt_s (local.get $r4) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r4) (i32.const 2)))
            (f32.mul (local.get $s4) (f32.const 0x1p56)))))
        (if (i32.lt_s (local.get $r5) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r5) (i32.const 2)))
            (f32.mul (local.get $s5) (f32.const 0x1p56)))))
        ;; scalar tail columns of each row of the group
        (if (i32.lt_s (local.get $nv) (local.get $cols))
          (then
            (local.set $k (i32.const 0))
            (block $tdone
              (loop $tails
                (br_if $tdone (i32.ge_s (call $slot (local.get $r) (local.get $k) (local.get $n)) (local.get $rows)))
                (local.set $yp (i32.add (local.get $y) (i32.shl (call $slot (local.get $r) (local.get $k) (local.get $n)) (i32.const 2))))
                (f32.store (local.get $yp) (f32.add (f32.load (local.get $yp))
                  (call $tail_f16 (i32.add (call $row (local.get $w) (call $slot (local.get $r) (local.get $k) (local.get $n)) (local.get $last) (local.get $rb)) (local.get $vb))
                    (local.get $xt) (i32.sub (local.get $cols) (local.get $nv)))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br_if $tails (i32.lt_s (local.get $k) (i32.const 6)))))))
        ;; an infinite or NaN half in the group: redo its rows with the exact scalar decode
        (if (local.get $bad)
          (then
            (local.set $k (i32.const 0))
            (block $rdone
              (loop $redo
                (br_if $rdone (i32.ge_s (call $slot (local.get $r) (local.get $k) (local.get $n)) (local.get $rows)))
                (call $f16_rows_exact (local.get $w) (local.get $x) (local.get $y) (call $slot (local.get $r) (local.get $k) (local.get $n))
                  (i32.add (call $slot (local.get $r) (local.get $k) (local.get $n)) (i32.const 1)) (local.get $cols))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br_if $redo (i32.lt_s (local.get $k) (i32.const 6)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $group))))

  (func $g_f16 (param $p0 i32) (param $p1 i32) (param $p2 i32) (param $p3 i32) (param $p4 i32) (param $p5 i32) (param $px i32) (param $end i32) (param $m v128) (result f32 f32 f32 f32 f32 f32 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128)
    (local $xe v128) (local $xo v128) (local $v v128) (local $flag v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (local.set $xe (v128.load (local.get $px)))
        (local.set $xo (v128.load offset=16 (local.get $px)))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (i32.sub (local.get $p0) (i32.const 2))) (i32.const 3)) (local.get $m)) (local.get $xe))))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (local.get $p0)) (i32.const 3)) (local.get $m)) (local.get $xo))))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (i32.sub (local.get $p1) (i32.const 2))) (i32.const 3)) (local.get $m)) (local.get $xe))))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (local.get $p1)) (i32.const 3)) (local.get $m)) (local.get $xo))))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (i32.sub (local.get $p2) (i32.const 2))) (i32.const 3)) (local.get $m)) (local.get $xe))))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (local.get $p2)) (i32.const 3)) (local.get $m)) (local.get $xo))))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (i32.sub (local.get $p3) (i32.const 2))) (i32.const 3)) (local.get $m)) (local.get $xe))))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (local.get $p3)) (i32.const 3)) (local.get $m)) (local.get $xo))))
        (local.set $a4 (f32x4.add (local.get $a4)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (i32.sub (local.get $p4) (i32.const 2))) (i32.const 3)) (local.get $m)) (local.get $xe))))
        (local.set $a4 (f32x4.add (local.get $a4)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (local.get $p4)) (i32.const 3)) (local.get $m)) (local.get $xo))))
        (local.set $a5 (f32x4.add (local.get $a5)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (i32.sub (local.get $p5) (i32.const 2))) (i32.const 3)) (local.get $m)) (local.get $xe))))
        (local.set $a5 (f32x4.add (local.get $a5)
          (f32x4.mul (v128.and (i32x4.shr_s (v128.load (local.get $p5)) (i32.const 3)) (local.get $m)) (local.get $xo))))
        ;; infinity/NaN check; the weights are loaded again here (from L1) so that V8, which sinks these pure
        ;; operations to the end of the loop, does not keep the first loads alive and spill accumulators
        (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (v128.load (local.get $p0)) (i32.const 1))))
        (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (v128.load (local.get $p1)) (i32.const 1))))
        (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (v128.load (local.get $p2)) (i32.const 1))))
        (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (v128.load (local.get $p3)) (i32.const 1))))
        (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (v128.load (local.get $p4)) (i32.const 1))))
        (local.set $flag (i16x8.max_u (local.get $flag) (i16x8.shl (v128.load (local.get $p5)) (i32.const 1))))
        (local.set $px (i32.add (local.get $px) (i32.const 32)))
        (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
        (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
        (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
        (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
        (local.set $p4 (i32.add (local.get $p4) (i32.const 16)))
        (local.set $p5 (i32.add (local.get $p5) (i32.const 16)))
        (br $step)))
    (call $hsum (local.get $a0))
    (call $hsum (local.get $a1))
    (call $hsum (local.get $a2))
    (call $hsum (local.get $a3))
    (call $hsum (local.get $a4))
    (call $hsum (local.get $a5))
    (v128.any_true (i16x8.ge_u (local.get $flag) (v128.const i16x8 0xf800 0xf800 0xf800 0xf800 0xf800 0xf800 0xf800 0xf800))))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; x preparation for the 16-bit kernels: for every full block of 8 columns, writes (x0 x2 x4 x6)(x1 x3 x5 x7) · $scale
  ;; to $xs (32 bytes per block). Returns max |x| over those columns (NaN if one of them is NaN).

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

  ;; rows [r0, r1) of an f16 matvec, one element at a time with the exact scalar decode (f32 accumulation)
  (func $f16_rows_exact (param $w i32) (param $x i32) (param $y i32) (param $r0 i32) (param $r1 i32) (param $cols i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $r0) (local.get $r1)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r0) (i32.const 2)))
          (call $tail_f16 (i32.add (local.get $w) (i32.mul (local.get $r0) (i32.shl (local.get $cols) (i32.const 1))))
            (local.get $x) (local.get $cols)))
        (local.set $r0 (i32.add (local.get $r0) (i32.const 1)))
        (br $l))))

  (func (export "matvec_f16_exact") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (call $f16_rows_exact (local.get $w) (local.get $x) (local.get $y) (i32.const 0) (local.get $rows) (local.get $cols)))

  ;; ---------------------------------------------------------------------------------------------------------------
  ;; int8 weights with one f32 scale per row. x is quantised once per call to int16 with one scale by quantize_x_i16
  ;; (xq = round(x · 32767 / max|x|)) over the first cols & ~15 columns; the columns past that use f32 x directly.
  ;; Groups of 8 rows (row bands, see $slot); per row and 16 columns: two sign-extending 8-byte loads (i8 -> i16x8) and
  ;; two i32x4.dot_i16x8_s with xq, summed exactly in i32x4. |w| <= 128 and |xq| <= 32767, so a step adds at most
  ;; 4 · 128 · 32767 = 16,776,704 to a lane: $g_i8 is called on blocks of at most 2048 columns (128 steps, 2,147,418,112
  ;; < 2^31) and the block sums are added in f32. $g_i8 returns the 8 row sums as two f32x4 (a transposed add in
  ;; registers: eight $hsum calls per block cost a fifth of the time at 1024 columns).
  ;;   y[r] = scale[r] · (xscale · sum(q · xq) + sum_tail(q · x))

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
    ;; not finite (or NaN): report it, the caller takes the exact path. All zero: xq = 0 and scale 0.
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
    (local $r i32) (local $n i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $r5 i32) (local $r6 i32) (local $r7 i32) (local $last i32) (local $nv i32) (local $c i32) (local $c1 i32) (local $xt i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32) (local $q4 i32) (local $q5 i32) (local $q6 i32) (local $q7 i32) (local $lo v128) (local $hi v128) (local $t v128)
    (local.set $last (i32.sub (local.get $rows) (i32.const 1)))
    (local.set $n (i32.div_u (i32.add (local.get $rows) (i32.const 7)) (i32.const 8)))
    (local.set $nv (i32.and (local.get $cols) (i32.const -16)))
    (local.set $xt (i32.add (local.get $x) (i32.shl (local.get $nv) (i32.const 2))))
    (block $done
      (loop $group
        (br_if $done (i32.ge_s (local.get $r) (local.get $n)))
        ;; the group's rows (slot 0 is row $r)
        (local.set $r1 (call $slot (local.get $r) (i32.const 1) (local.get $n)))
        (local.set $r2 (call $slot (local.get $r) (i32.const 2) (local.get $n)))
        (local.set $r3 (call $slot (local.get $r) (i32.const 3) (local.get $n)))
        (local.set $r4 (call $slot (local.get $r) (i32.const 4) (local.get $n)))
        (local.set $r5 (call $slot (local.get $r) (i32.const 5) (local.get $n)))
        (local.set $r6 (call $slot (local.get $r) (i32.const 6) (local.get $n)))
        (local.set $r7 (call $slot (local.get $r) (i32.const 7) (local.get $n)))
        (local.set $q0 (call $row (local.get $w) (local.get $r) (local.get $last) (local.get $cols)))
        (local.set $q1 (call $row (local.get $w) (local.get $r1) (local.get $last) (local.get $cols)))
        (local.set $q2 (call $row (local.get $w) (local.get $r2) (local.get $last) (local.get $cols)))
        (local.set $q3 (call $row (local.get $w) (local.get $r3) (local.get $last) (local.get $cols)))
        (local.set $q4 (call $row (local.get $w) (local.get $r4) (local.get $last) (local.get $cols)))
        (local.set $q5 (call $row (local.get $w) (local.get $r5) (local.get $last) (local.get $cols)))
        (local.set $q6 (call $row (local.get $w) (local.get $r6) (local.get $last) (local.get $cols)))
        (local.set $q7 (call $row (local.get $w) (local.get $r7) (local.get $last) (local.get $cols)))
        (local.set $lo (v128.const i32x4 0 0 0 0))
        (local.set $hi (v128.const i32x4 0 0 0 0))
        ;; blocks of at most 2048 columns
        (local.set $c (i32.const 0))
        (block $bdone
          (loop $block
            (br_if $bdone (i32.ge_s (local.get $c) (local.get $nv)))
            (local.set $c1 (call $min_i32 (i32.add (local.get $c) (i32.const 2048)) (local.get $nv)))
            (call $g_i8 (i32.add (local.get $q0) (local.get $c)) (i32.add (local.get $q1) (local.get $c)) (i32.add (local.get $q2) (local.get $c)) (i32.add (local.get $q3) (local.get $c)) (i32.add (local.get $q4) (local.get $c)) (i32.add (local.get $q5) (local.get $c)) (i32.add (local.get $q6) (local.get $c)) (i32.add (local.get $q7) (local.get $c))
              (i32.add (local.get $xq) (i32.shl (local.get $c) (i32.const 1))) (i32.add (local.get $xq) (i32.shl (local.get $c1) (i32.const 1))))
            (local.set $t) (local.set $hi (f32x4.add (local.get $hi) (local.get $t)))
            (local.set $t) (local.set $lo (f32x4.add (local.get $lo) (local.get $t)))
            (local.set $c (local.get $c1))
            (br $block)))
        ;; y = scale · (xscale · sum + tail sum), stored for the rows that exist (the calls are inlined: this runs once
        ;; per group, and at 2048 columns eight $put and $tail_i8 calls cost a tenth of the time)
        (if (i32.lt_s (local.get $r) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 0 (local.get $lo)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q0) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r1) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r1) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r1) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 1 (local.get $lo)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q1) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r2) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r2) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r2) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 2 (local.get $lo)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q2) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r3) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r3) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r3) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 3 (local.get $lo)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q3) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r4) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r4) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r4) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 0 (local.get $hi)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q4) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r5) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r5) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r5) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 1 (local.get $hi)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q5) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r6) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r6) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r6) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 2 (local.get $hi)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q6) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (if (i32.lt_s (local.get $r7) (local.get $rows))
          (then (f32.store (i32.add (local.get $y) (i32.shl (local.get $r7) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r7) (i32.const 2))))
              (f32.add (f32.mul (f32x4.extract_lane 3 (local.get $hi)) (local.get $xscale))
                (if (result f32) (i32.lt_s (local.get $nv) (local.get $cols))
                  (then (call $tail_i8 (i32.add (local.get $q7) (local.get $nv)) (local.get $xt) (i32.sub (local.get $cols) (local.get $nv))))
                  (else (f32.const 0))))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $group))))

  (func $g_i8 (param $p0 i32) (param $p1 i32) (param $p2 i32) (param $p3 i32) (param $p4 i32) (param $p5 i32) (param $p6 i32) (param $p7 i32) (param $px i32) (param $end i32) (result v128 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $xa v128) (local $xb v128) (local $u v128) (local $v v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (local.set $xa (v128.load (local.get $px)))
        (local.set $xb (v128.load offset=16 (local.get $px)))
        (local.set $a0 (i32x4.add (local.get $a0) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p0)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p0)) (local.get $xb)))))
        (local.set $a1 (i32x4.add (local.get $a1) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p1)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p1)) (local.get $xb)))))
        (local.set $a2 (i32x4.add (local.get $a2) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p2)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p2)) (local.get $xb)))))
        (local.set $a3 (i32x4.add (local.get $a3) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p3)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p3)) (local.get $xb)))))
        (local.set $a4 (i32x4.add (local.get $a4) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p4)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p4)) (local.get $xb)))))
        (local.set $a5 (i32x4.add (local.get $a5) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p5)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p5)) (local.get $xb)))))
        (local.set $a6 (i32x4.add (local.get $a6) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p6)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p6)) (local.get $xb)))))
        (local.set $a7 (i32x4.add (local.get $a7) (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s (local.get $p7)) (local.get $xa))
          (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p7)) (local.get $xb)))))
        (local.set $px (i32.add (local.get $px) (i32.const 32)))
        (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
        (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
        (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
        (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
        (local.set $p4 (i32.add (local.get $p4) (i32.const 16)))
        (local.set $p5 (i32.add (local.get $p5) (i32.const 16)))
        (local.set $p6 (i32.add (local.get $p6) (i32.const 16)))
        (local.set $p7 (i32.add (local.get $p7) (i32.const 16)))
        (br $step)))
    ;; rows 0-3 then rows 4-7: lanes to f32 (a row's four lanes together may pass 2^31), then a transposed add
    (local.set $u (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.convert_i32x4_s (local.get $a0)) (f32x4.convert_i32x4_s (local.get $a1)))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (f32x4.convert_i32x4_s (local.get $a0)) (f32x4.convert_i32x4_s (local.get $a1)))))
    (local.set $v (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.convert_i32x4_s (local.get $a2)) (f32x4.convert_i32x4_s (local.get $a3)))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (f32x4.convert_i32x4_s (local.get $a2)) (f32x4.convert_i32x4_s (local.get $a3)))))
    (f32x4.add (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $u) (local.get $v))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $u) (local.get $v)))
    (local.set $u (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.convert_i32x4_s (local.get $a4)) (f32x4.convert_i32x4_s (local.get $a5)))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (f32x4.convert_i32x4_s (local.get $a4)) (f32x4.convert_i32x4_s (local.get $a5)))))
    (local.set $v (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.convert_i32x4_s (local.get $a6)) (f32x4.convert_i32x4_s (local.get $a7)))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (f32x4.convert_i32x4_s (local.get $a6)) (f32x4.convert_i32x4_s (local.get $a7)))))
    (f32x4.add (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $u) (local.get $v))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $u) (local.get $v))))

  ;; int8 without quantising x (for x that is not finite): f32 products, f32 accumulation, one element at a time
  (func (export "matvec_i8_exact") (param $w i32) (param $scales i32) (param $x i32) (param $y i32) (param $rows i32) (param $cols i32)
    (local $r i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))
          (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2))))
            (call $tail_i8 (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $cols))) (local.get $x) (local.get $cols))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $l))))
)
