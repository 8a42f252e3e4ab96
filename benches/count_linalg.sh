#!/usr/bin/env bash
# Instructions per call of each variant of examples/linalg_count.rs, by callgrind:
# (count(2k iterations) - count(k iterations)) / k, which removes start-up. Independent
# of the machine's load, unlike times. Usage: benches/count_linalg.sh [target-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-${CARGO_TARGET_DIR:-target}}
cargo build --release -q -p typegrad-benches --example linalg_count
binary="$target/release/examples/linalg_count"
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$@" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for n in 6 64; do
    if [ "$n" = 6 ]; then k=2000; else k=20; fi
    raw=""
    for variant in raw forward op backward; do
        one=$(count "$variant" "$n" "$k")
        two=$(count "$variant" "$n" $((2 * k)))
        per=$(( (two - one) / k ))
        if [ "$variant" = raw ]; then raw=$per; fi
        echo "N = $n, $variant: $per instructions per call ($(awk "BEGIN { printf \"%.2f\", $per / $raw }") x raw)"
    done
done
