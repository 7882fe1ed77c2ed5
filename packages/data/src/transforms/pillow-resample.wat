;; Pillow's 8-bit fixed-point resampling passes (Resample.c, PRECISION_BITS = 22) for
;; interleaved RGB bytes, with 128-bit SIMD. pillow-resample-wasm.ts holds the assembled bytes
;; (regenerate with `node packages/data/scripts/build-wasm.mjs`); pillow-resample.ts is the
;; reference every result must equal.
;;
;; Tap tables (i32): first[o], size[o], weight[o * taps + j]. Both passes may read up to 15
;; bytes past their source and write up to 15 bytes past their destination (callers pad).
(module
  (memory (export "memory") 1)

  ;; Horizontal pass: `rows` rows of `stride` bytes from `src`, each resampled to `outW`
  ;; RGB pixels at `dst` (rows of outW * 3 bytes). One pixel's three channels (and a fourth,
  ;; ignored lane) in one i32x4 accumulator.
  (func (export "across")
    (param $src i32) (param $stride i32) (param $rows i32) (param $outW i32)
    (param $taps i32) (param $first i32) (param $size i32) (param $weight i32) (param $dst i32)
    (local $y i32) (local $x i32) (local $j i32) (local $n i32) (local $s i32) (local $w i32)
    (local $row i32) (local $acc v128)
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $stride))))
        (local.set $x (i32.const 0))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_u (local.get $x) (local.get $outW)))
            (local.set $n (i32.load (i32.add (local.get $size) (i32.shl (local.get $x) (i32.const 2)))))
            (local.set $s
              (i32.add (local.get $row)
                (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $x) (i32.const 2))))
                  (i32.const 3))))
            (local.set $w
              (i32.add (local.get $weight) (i32.shl (i32.mul (local.get $x) (local.get $taps)) (i32.const 2))))
            (local.set $acc (i32x4.splat (i32.const 2097152)))
            (local.set $j (i32.const 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $acc
                  (i32x4.add (local.get $acc)
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $s))))
                      (i32x4.splat (i32.load (local.get $w))))))
                (local.set $s (i32.add (local.get $s) (i32.const 3)))
                (local.set $w (i32.add (local.get $w) (i32.const 4)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tapLoop)))
            (local.set $acc (i32x4.shr_s (local.get $acc) (i32.const 22)))
            (local.set $acc (i16x8.narrow_i32x4_s (local.get $acc) (local.get $acc)))
            (local.set $acc (i8x16.narrow_i16x8_u (local.get $acc) (local.get $acc)))
            ;; Four bytes: the fourth is overwritten by the next pixel (or lands in padding).
            (v128.store32_lane 0 (local.get $dst) (local.get $acc))
            (local.set $dst (i32.add (local.get $dst) (i32.const 3)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $colLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop))))

  ;; Bytes to floats through one 256-entry f32 table per channel (`tables`, three in a row),
;; `rows` rows of `rowLength` RGB bytes from `src` to `dst`, each row mirrored if `flip`.
(func (export "lookup")
    (param $src i32) (param $rows i32) (param $rowLength i32) (param $tables i32)
    (param $flip i32) (param $dst i32)
    (local $y i32) (local $s i32) (local $end i32) (local $q i32) (local $step i32)
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $s (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $rowLength))))
        (local.set $end (i32.add (local.get $s) (local.get $rowLength)))
        (local.set $q (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $y) (local.get $rowLength)) (i32.const 2))))
        (local.set $step (i32.const 12))
        (if (local.get $flip)
          (then
            (local.set $q (i32.add (local.get $q) (i32.shl (i32.sub (local.get $rowLength) (i32.const 3)) (i32.const 2))))
            (local.set $step (i32.const -12))))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_u (local.get $s) (local.get $end)))
            (f32.store (local.get $q)
              (f32.load (i32.add (local.get $tables) (i32.shl (i32.load8_u (local.get $s)) (i32.const 2)))))
            (f32.store offset=4 (local.get $q)
              (f32.load offset=1024 (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=1 (local.get $s)) (i32.const 2)))))
            (f32.store offset=8 (local.get $q)
              (f32.load offset=2048 (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=2 (local.get $s)) (i32.const 2)))))
            (local.set $s (i32.add (local.get $s) (i32.const 3)))
            (local.set $q (i32.add (local.get $q) (local.get $step)))
            (br $colLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop))))

  ;; Vertical pass: `outH` rows of `rowLength` bytes at `dst`, row y the weighted sum of
  ;; size[y] rows of `src` from row first[y]. Sixteen bytes at a time, in four i32x4.
  (func (export "down")
    (param $src i32) (param $rowLength i32) (param $outH i32)
    (param $taps i32) (param $first i32) (param $size i32) (param $weight i32) (param $dst i32)
    (local $y i32) (local $x i32) (local $j i32) (local $n i32) (local $base i32) (local $s i32)
    (local $w i32) (local $k v128) (local $v v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $out i32)
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $outH)))
        (local.set $n (i32.load (i32.add (local.get $size) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $base
          (i32.add (local.get $src)
            (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $y) (i32.const 2))))
              (local.get $rowLength))))
        (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $y) (local.get $rowLength))))
        (local.set $x (i32.const 0))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_u (local.get $x) (local.get $rowLength)))
            (local.set $a0 (i32x4.splat (i32.const 2097152)))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $s (i32.add (local.get $base) (local.get $x)))
            (local.set $w
              (i32.add (local.get $weight) (i32.shl (i32.mul (local.get $y) (local.get $taps)) (i32.const 2))))
            (local.set $j (i32.const 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $k (i32x4.splat (i32.load (local.get $w))))
                (local.set $v (v128.load (local.get $s)))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0)
                  (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $k))))
                (local.set $a1 (i32x4.add (local.get $a1)
                  (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $k))))
                (local.set $a2 (i32x4.add (local.get $a2)
                  (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $k))))
                (local.set $a3 (i32x4.add (local.get $a3)
                  (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $k))))
                (local.set $s (i32.add (local.get $s) (local.get $rowLength)))
                (local.set $w (i32.add (local.get $w) (i32.const 4)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tapLoop)))
            (v128.store (i32.add (local.get $out) (local.get $x))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a0) (i32.const 22))
                  (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a2) (i32.const 22))
                  (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $colLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop))))
)
