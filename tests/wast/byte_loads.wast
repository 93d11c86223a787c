;; Guards byte loads combined into one load (compiler/src/translate/byte_loads.rs): the
;; value of every shape, combined or not, and the traps at the end of memory. With
;; explicit bounds checks (the kiln-wast-bounds-checks suite) nothing is combined and the
;; same directives must hold.

(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\f1\f2\f3\f4\f5\f6\f7\f8")
  (data (i32.const 65528) "\a1\a2\a3\a4\a5\a6\a7\a8")

  ;; Big-endian, as SQLite's get4byte.
  (func (export "be32") (param $p i32) (result i32)
    (i32.or
      (i32.or
        (i32.shl (i32.load8_u (local.get $p)) (i32.const 24))
        (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 16)))
      (i32.or
        (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 8))
        (i32.load8_u offset=3 (local.get $p)))))
  ;; Little-endian, with `add` joining, the bytes in another order.
  (func (export "le32") (param $p i32) (result i32)
    (i32.add
      (i32.add
        (i32.shl (i32.load8_u offset=3 (local.get $p)) (i32.const 24))
        (i32.load8_u (local.get $p)))
      (i32.add
        (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8))
        (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 16)))))
  (func (export "be16") (param $p i32) (result i32)
    (i32.or (i32.shl (i32.load8_u (local.get $p)) (i32.const 8))
            (i32.load8_u offset=1 (local.get $p))))
  (func (export "le16_in_i64") (param $p i32) (result i64)
    (i64.or (i64.load8_u offset=4 (local.get $p))
            (i64.shl (i64.load8_u offset=5 (local.get $p)) (i64.const 8))))
  ;; An i32 assembled big-endian and then extended, as a u32 read into a u64.
  (func (export "be32_extended") (param $p i32) (result i64)
    (i64.extend_i32_u
      (i32.or
        (i32.or
          (i32.shl (i32.load8_u (local.get $p)) (i32.const 24))
          (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 16)))
        (i32.or
          (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 8))
          (i32.load8_u offset=3 (local.get $p))))))
  ;; Eight bytes big-endian, the last one joined with `add` (SQLite's vdbeRecordCompareInt).
  (func (export "be64") (param $p i32) (result i64)
    (i64.add
      (i64.or (i64.or (i64.or (i64.or (i64.or (i64.or
        (i64.shl (i64.load8_u offset=1 (local.get $p)) (i64.const 48))
        (i64.shl (i64.load8_u (local.get $p)) (i64.const 56)))
        (i64.shl (i64.load8_u offset=2 (local.get $p)) (i64.const 40)))
        (i64.shl (i64.load8_u offset=3 (local.get $p)) (i64.const 32)))
        (i64.shl (i64.load8_u offset=4 (local.get $p)) (i64.const 24)))
        (i64.shl (i64.load8_u offset=5 (local.get $p)) (i64.const 16)))
        (i64.shl (i64.load8_u offset=6 (local.get $p)) (i64.const 8)))
      (i64.load8_u offset=7 (local.get $p))))
  ;; Three bytes: no load that wide, each byte stays.
  (func (export "be24") (param $p i32) (result i32)
    (i32.or
      (i32.or
        (i32.shl (i32.load8_u (local.get $p)) (i32.const 16))
        (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8)))
      (i32.load8_u offset=2 (local.get $p))))
  ;; Not adjacent (offsets 0 and 2), or not from bit 0: left alone.
  (func (export "gap") (param $p i32) (result i32)
    (i32.or (i32.shl (i32.load8_u (local.get $p)) (i32.const 8))
            (i32.load8_u offset=2 (local.get $p))))
  (func (export "high") (param $p i32) (result i32)
    (i32.or (i32.shl (i32.load8_u (local.get $p)) (i32.const 16))
            (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 24))))
  ;; A byte kept in a local as well: used twice, so its tree is left alone.
  (func (export "kept") (param $p i32) (result i32)
    (local $b i32)
    (i32.add
      (i32.or (i32.shl (local.tee $b (i32.load8_u (local.get $p))) (i32.const 8))
              (i32.load8_u offset=1 (local.get $p)))
      (i32.mul (local.get $b) (i32.const 0x10000))))
  ;; A store between the byte loads: the second byte must be read after it.
  (func (export "store_between") (param $p i32) (result i32)
    (local $high i32)
    (local.set $high (i32.shl (i32.load8_u (local.get $p)) (i32.const 8)))
    (i32.store8 offset=1 (local.get $p) (i32.const 0x99))
    (i32.or (local.get $high) (i32.load8_u offset=1 (local.get $p))))
  ;; Two different addresses: not one load.
  (func (export "two_addresses") (param $p i32) (param $q i32) (result i32)
    (i32.or (i32.shl (i32.load8_u (local.get $p)) (i32.const 8))
            (i32.load8_u offset=1 (local.get $q)))))

(assert_return (invoke "be32" (i32.const 0)) (i32.const 0x01020304))
(assert_return (invoke "be32" (i32.const 9)) (i32.const 0xf2f3f4f5))
(assert_return (invoke "le32" (i32.const 0)) (i32.const 0x04030201))
(assert_return (invoke "le32" (i32.const 8)) (i32.const 0xf4f3f2f1))
(assert_return (invoke "be16" (i32.const 6)) (i32.const 0x0708))
(assert_return (invoke "be16" (i32.const 65534)) (i32.const 0xa7a8))
(assert_return (invoke "le16_in_i64" (i32.const 10)) (i64.const 0xf8f7))
(assert_return (invoke "be32_extended" (i32.const 8)) (i64.const 0xf1f2f3f4))
(assert_return (invoke "be64" (i32.const 0)) (i64.const 0x0102030405060708))
(assert_return (invoke "be64" (i32.const 8)) (i64.const 0xf1f2f3f4f5f6f7f8))
(assert_return (invoke "be64" (i32.const 65528)) (i64.const 0xa1a2a3a4a5a6a7a8))
(assert_return (invoke "be24" (i32.const 1)) (i32.const 0x020304))
(assert_return (invoke "gap" (i32.const 0)) (i32.const 0x0103))
(assert_return (invoke "high" (i32.const 0)) (i32.const 0x02010000))
(assert_return (invoke "kept" (i32.const 0)) (i32.const 0x010102))
(assert_return (invoke "two_addresses" (i32.const 0) (i32.const 4)) (i32.const 0x0106))
(assert_return (invoke "store_between" (i32.const 2)) (i32.const 0x0399))
(assert_return (invoke "be16" (i32.const 3)) (i32.const 0x9905))

;; At the end of memory: the access traps when any of its bytes is past it, as the byte
;; loads would, and reads nothing.
(assert_trap (invoke "be64" (i32.const 65529)) "out of bounds memory access")
(assert_trap (invoke "be64" (i32.const 65535)) "out of bounds memory access")
(assert_trap (invoke "be64" (i32.const -1)) "out of bounds memory access")
(assert_trap (invoke "be32" (i32.const 65533)) "out of bounds memory access")
(assert_trap (invoke "le32" (i32.const 65533)) "out of bounds memory access")
(assert_trap (invoke "be16" (i32.const 65535)) "out of bounds memory access")
(assert_return (invoke "be32" (i32.const 65532)) (i32.const 0xa5a6a7a8))

;; Byte swaps written out with shifts and masks (LLVM's `bswap` for wasm) are one `bswap`;
;; near misses keep their own meaning.
(module
  (func (export "bswap32") (param $x i32) (result i32)
    (i32.or
      (i32.or (i32.shl (local.get $x) (i32.const 24))
              (i32.shl (i32.and (local.get $x) (i32.const 0xff00)) (i32.const 8)))
      (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
              (i32.shr_u (local.get $x) (i32.const 24)))))
  (func (export "bswap64") (param $x i64) (result i64)
    (i64.or
      (i64.or
        (i64.or (i64.shl (local.get $x) (i64.const 56))
                (i64.shl (i64.and (local.get $x) (i64.const 65280)) (i64.const 40)))
        (i64.or (i64.shl (i64.and (local.get $x) (i64.const 16711680)) (i64.const 24))
                (i64.shl (i64.and (local.get $x) (i64.const 4278190080)) (i64.const 8))))
      (i64.or
        (i64.or (i64.and (i64.shr_u (local.get $x) (i64.const 8)) (i64.const 4278190080))
                (i64.and (i64.shr_u (local.get $x) (i64.const 24)) (i64.const 16711680)))
        (i64.or (i64.and (i64.shr_u (local.get $x) (i64.const 40)) (i64.const 65280))
                (i64.shr_u (local.get $x) (i64.const 56))))))
  ;; One byte moved to the wrong place (0xff0000 where 0xff00 belongs): no swap.
  (func (export "almost32") (param $x i32) (result i32)
    (i32.or
      (i32.or (i32.shl (local.get $x) (i32.const 24))
              (i32.shl (i32.and (local.get $x) (i32.const 0xff0000)) (i32.const 8)))
      (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
              (i32.shr_u (local.get $x) (i32.const 24)))))
  ;; Three bytes swapped and one missing: no swap.
  (func (export "partial32") (param $x i32) (result i32)
    (i32.or (i32.shl (local.get $x) (i32.const 24))
            (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
                    (i32.shr_u (local.get $x) (i32.const 24)))))
  ;; A shift by 40 of an i32 is a shift by 8 (wasm takes the count modulo 32).
  (func (export "modulo32") (param $x i32) (result i32)
    (i32.or
      (i32.or (i32.shl (local.get $x) (i32.const 24))
              (i32.shl (i32.and (local.get $x) (i32.const 0xff00)) (i32.const 40)))
      (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
              (i32.shr_u (local.get $x) (i32.const 24))))))

(assert_return (invoke "bswap32" (i32.const 0x01020304)) (i32.const 0x04030201))
(assert_return (invoke "bswap32" (i32.const 0xf1f2f3f4)) (i32.const 0xf4f3f2f1))
(assert_return (invoke "bswap64" (i64.const 0x0102030405060708)) (i64.const 0x0807060504030201))
(assert_return (invoke "bswap64" (i64.const 0xf1f2f3f4f5f6f7f8)) (i64.const 0xf8f7f6f5f4f3f2f1))
(assert_return (invoke "almost32" (i32.const 0x01020304)) (i32.const 0x06000201))
(assert_return (invoke "partial32" (i32.const 0x01020304)) (i32.const 0x04000201))
(assert_return (invoke "modulo32" (i32.const 0x01020304)) (i32.const 0x04030201))
