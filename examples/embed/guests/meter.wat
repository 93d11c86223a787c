;; A guest for the host's limits: `count n` runs a loop of n iterations of 7 operators
;; that cost one unit of fuel each; `spin` never returns. Embedded with fuel metering and
;; interruption checks compiled in (build.rs).
(module
  (func (export "count") (param $n i32) (local $i i32)
    (loop $again
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.ne
      br_if $again))
  (func (export "spin") (loop $forever (br $forever))))
