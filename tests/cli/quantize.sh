#!/usr/bin/env bash
# hearth quantize end to end, without llama.cpp: quantize the tiny F32 fixtures, check the
# tensor types `hearth info` reports, that `hearth run` loads and generates from the result,
# and that refused inputs leave no output file. (Loading in llama.cpp with the same greedy
# text: tools/check_quantized_in_llamacpp.py.)
# Usage: quantize.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

check() {  # NAME CONDITION-RESULT MESSAGE
    if [[ "$2" == 0 ]]; then echo "ok   $1"; else echo "FAIL $1: $3"; fail=1; fi
}

for stem in llama qwen2 qwen3; do
    in="$fixtures/tiny/$stem-f32.gguf"
    # type -> the quant mix `hearth info` must show (the tiny rows, 64-160 wide, make every
    # K-quant fall back: Q4_K -> Q5_0, Q6_K -> Q8_0).
    for spec in "Q8_0:Q8_0 x" "Q4_0:Q4_0 x" "Q4_K_M:Q5_0 x" "Q6_K:Q8_0 x" "F16:F16 x" "BF16:BF16 x"; do
        ty="${spec%%:*}" want="${spec#*:}"
        out="$tmp/$stem-$ty.gguf"
        log="$("$hearth" quantize "$in" "$out" "$ty" -t 2 2>&1)"
        check "$stem $ty quantize" $? "$log"
        [[ -f "$out" && ! -e "$out.tmp" ]]
        check "$stem $ty file in place, no .tmp" $? "$(ls "$tmp")"
        [[ "$log" == *"size: "* ]]
        check "$stem $ty summary" $? "$log"
        info="$("$hearth" info "$out" 2>&1)"
        [[ "$info" == *"$want"* && "$info" == *"F32 x"* ]]
        check "$stem $ty info shows '$want' and F32 norms" $? "$info"
        gen="$("$hearth" run -m "$out" -p "Hello world, the" -n 8 --temp 0 -t 1 --print-ids 2>&1)"
        ids="$(grep '^ids:' <<< "$gen" | wc -w)"
        [[ "$ids" -ge 2 ]]
        check "$stem $ty run generates" $? "$gen"
    done
done

# general.file_type as llama-quantize writes it: Q4_K / Q5_K are its aliases of the _M mixes.
for spec in "Q4_K:15" "Q4_K_M:15" "Q4_K_S:14" "Q5_K:17" "Q5_K_S:16" "Q6_K:18" "Q8_0:7"; do
    ty="${spec%%:*}" want="${spec#*:}"
    out="$tmp/ftype-$ty.gguf"
    "$hearth" quantize "$fixtures/tiny/llama-f32.gguf" "$out" "$ty" -t 2 >/dev/null 2>&1
    info="$("$hearth" info "$out" 2>&1)"
    grep -Eq "general\.file_type +$want\$" <<< "$info"
    check "$ty writes general.file_type $want" $? "$(grep file_type <<< "$info")"
done

# Already-quantized input: refused without --allow-requantize, and nothing is written.
out="$tmp/requant.gguf"
log="$("$hearth" quantize "$fixtures/tiny/llama-q8_0.gguf" "$out" Q4_0 2>&1)"
rc=$?
[[ $rc -eq 1 && "$log" == *"--allow-requantize"* && ! -e "$out" && ! -e "$out.tmp" ]]
check "requantize refused" $? "rc $rc: $log"
log="$("$hearth" quantize --allow-requantize "$fixtures/tiny/llama-q8_0.gguf" "$out" Q4_0 2>&1)"
[[ $? -eq 0 && "$log" == *"requantizing"* && -f "$out" ]]
check "requantize allowed with a warning" $? "$log"

log="$("$hearth" quantize "$fixtures/tiny/llama-f32.gguf" "$tmp/x.gguf" Q3_XL 2>&1)"
rc=$?
[[ $rc -eq 1 && "$log" == *"unknown quantization type"* && "$log" == *"Q4_K_M"* ]]
check "unknown type lists the types" $? "rc $rc: $log"
log="$("$hearth" quantize "$tmp/missing.gguf" "$tmp/y.gguf" Q8_0 2>&1)"
rc=$?
[[ $rc -eq 1 && ! -e "$tmp/y.gguf" ]]
check "missing input" $? "rc $rc: $log"

exit $fail
