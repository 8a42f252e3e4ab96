// SPEC §3.9: the seed of a vector-Jacobian product has the shape of the root.
// PyTorch: "Mismatch in shape: grad_output[0] has a shape of torch.Size([4]) and output[0]
// has a shape of torch.Size([3])", at run time.
//
// rustc reports this as E0308 "mismatched types ... expected `3`, found `4`" on the seed:
// the seed's shape is the tensor's own shape parameter, so rustc compares the two
// shapes directly (a custom trait message cannot fire: with one possible impl per shape,
// rustc infers the seed's shape from it first). The label names both dimensions.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones().track();
    let y = &x * 2.0;
    let seed = Tensor::<Rank1<4>, f32>::ones();
    let _ = y.backward_with(&seed);
}
