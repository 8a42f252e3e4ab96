//! Helpers for the pool tests: fill this thread's buffer pools with poison values, and
//! compare results bit for bit.

use typegrad::prelude::*;

/// Fills this thread's pools with buffers holding `value`.
fn poison_len<const N: usize>(value: f64, copies: usize) {
    let keep64: Vec<_> = (0..copies)
        .map(|_| Tensor::<Rank1<N>, f64>::full(value))
        .collect();
    let keep32: Vec<_> = (0..copies)
        .map(|_| Tensor::<Rank1<N>, f32>::full(value as f32))
        .collect();
    drop(keep64);
    drop(keep32);
}

/// Fills this thread's pools with `copies` buffers of `value` for every length the
/// tests here use (and many they do not), in both element types.
pub fn poison(value: f64, copies: usize) {
    macro_rules! lengths {
        ($($n:literal)*) => { $(poison_len::<$n>(value, copies);)* };
    }
    lengths!(
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28
        29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53
        54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78
        79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102
        103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121
        122 123 124 125 126 127 128 129 130 131 132 133 134 135 136 137 138 139 140
        141 142 143 144 145 146 147 148 149 150 151 152 153 154 155 156 157 158 159
        160 192 200 256 288 300 320 400 512 576 600 640 768 1000 1024 2048 4096 4608
        8192
    );
}

/// Bits of every value, for bit-for-bit comparisons.
pub fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}
pub fn bits32(v: &[f32]) -> Vec<u64> {
    v.iter().map(|x| u64::from(x.to_bits())).collect()
}
