package nn

import "fmt"

// MSE is torch.nn.MSELoss() with reduction "mean": the mean of
// (pred - target)² over all elements, accumulated in float64. target gets
// no gradient. It returns an error when the shapes differ (a data problem a
// caller can report).
func (tp *Tape) MSE(pred, target *Tensor) (*Tensor, error) {
	if !sameShape(pred.Shape, target.Shape) {
		return nil, fmt.Errorf("nn: MSE shapes differ: prediction %v, target %v", pred.Shape, target.Shape)
	}
	n := pred.Len()
	if n == 0 {
		return nil, fmt.Errorf("nn: MSE of empty tensors")
	}
	out := tp.newRaw(1)
	var s float64
	for i, v := range pred.Data {
		d := float64(v) - float64(target.Data[i])
		s += d * d
	}
	out.Data[0] = float32(s / float64(n))
	tp.record(out, func() {
		gp := tp.gradOf(pred)
		k := out.Grad[0] * 2 / float32(n)
		for i, v := range pred.Data {
			gp[i] += k * (v - target.Data[i])
		}
	}, pred)
	return out, nil
}
