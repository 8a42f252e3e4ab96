// Custom functions: the input and output shapes are associated types, so a backward rule
// returning a gradient of another shape than the input's does not compile.
use typegrad::custom::CustomOp;
use typegrad::prelude::*;

struct RowSum;

impl CustomOp<f64> for RowSum {
    type Input = Rank2<2, 3>;
    type Output = Rank1<2>;
    fn name(&self) -> &'static str {
        "RowSumBackward"
    }
    fn forward(&self, x: &Tensor<Rank2<2, 3>, f64>) -> Tensor<Rank1<2>, f64> {
        x.sum_axis::<1>()
    }
    fn vjp(
        &self,
        _x: &Tensor<Rank2<2, 3>, f64>,
        _y: &Tensor<Rank1<2>, f64>,
        grad: &Tensor<Rank1<2>, f64>,
    ) -> Tensor<Rank1<2>, f64> {
        grad.clone()
    }
}

fn main() {}
