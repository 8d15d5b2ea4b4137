package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Parameter initialisation following torch.nn.init
// (https://pytorch.org/docs/stable/nn.init.html). Values are drawn in
// element order from the caller's *rand.Rand, so a seed fixes them; they do
// not reproduce PyTorch's random stream, only its distributions.

// Uniform fills t with independent draws from U(lo, hi).
func Uniform(rng *rand.Rand, t *Tensor, lo, hi float64) {
	for i := range t.Data {
		t.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
}

// Fill sets every element of t to v (LayerNorm weight 1 / bias 0, zero
// attention biases).
func Fill(t *Tensor, v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// Fans returns fan_in and fan_out as torch.nn.init._calculate_fan_in_and_fan_out:
// for a weight of shape [out, in, k...], fan_in = in·Πk and fan_out = out·Πk.
// It returns an error for tensors with fewer than two dimensions.
func Fans(shape []int) (fanIn, fanOut int, err error) {
	if len(shape) < 2 {
		return 0, 0, fmt.Errorf("nn: fan in and fan out need at least 2 dimensions, got shape %v", shape)
	}
	receptive := 1
	for _, d := range shape[2:] {
		receptive *= d
	}
	return shape[1] * receptive, shape[0] * receptive, nil
}

// KaimingUniform is torch.nn.init.kaiming_uniform_(t, a, mode="fan_in",
// nonlinearity="leaky_relu"): U(±gain·√(3/fan_in)) with gain = √(2/(1+a²)).
// With a = √5, PyTorch's default for Linear and Conv1d weights, the bound is
// 1/√fan_in.
func KaimingUniform(rng *rand.Rand, t *Tensor, a float64) error {
	fanIn, _, err := Fans(t.Shape)
	if err != nil {
		return err
	}
	gain := math.Sqrt(2 / (1 + a*a))
	bound := gain * math.Sqrt(3/float64(fanIn))
	Uniform(rng, t, -bound, bound)
	return nil
}

// XavierUniform is torch.nn.init.xavier_uniform_(t, gain):
// U(±gain·√(6/(fan_in+fan_out))). nn.Transformer applies it (gain 1) to every
// parameter with more than one dimension.
func XavierUniform(rng *rand.Rand, t *Tensor, gain float64) error {
	fanIn, fanOut, err := Fans(t.Shape)
	if err != nil {
		return err
	}
	bound := gain * math.Sqrt(6/float64(fanIn+fanOut))
	Uniform(rng, t, -bound, bound)
	return nil
}

// initLinearLike applies PyTorch's default for Linear and Conv1d
// (reset_parameters): weight kaiming_uniform_(a=√5), i.e. U(±1/√fan_in), then
// bias U(±1/√fan_in). The weight is drawn before the bias, as in PyTorch.
func initLinearLike(rng *rand.Rand, w, b *Tensor) {
	fanIn, _, err := Fans(w.Shape)
	if err != nil {
		panic(err) // shapes are built by the constructors, always ≥ 2-d
	}
	if err := KaimingUniform(rng, w, math.Sqrt(5)); err != nil {
		panic(err)
	}
	if b != nil {
		bound := 0.0
		if fanIn > 0 {
			bound = 1 / math.Sqrt(float64(fanIn))
		}
		Uniform(rng, b, -bound, bound)
	}
}
