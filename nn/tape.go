package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Tape records the operations of one forward pass so that Backward can run
// their gradient functions in reverse order (reverse-mode automatic
// differentiation, see doc.go for why a tape).
//
// A tape also owns the memory of the tensors its operations create: Reset
// returns that memory to a free list, so a training loop that repeats the
// same shapes every step stops allocating tensor memory after the first
// step.
//
// The tape's random source drives dropout; with the same seed, inputs and
// operations, a forward pass draws the same masks.
type Tape struct {
	eng      *Engine
	rng      *rand.Rand
	training bool
	noGrad   bool
	ops      []tapeOp
	arena    arena
}

type tapeOp struct {
	out      *Tensor
	backward func()
}

// NewTape returns a tape in training mode (dropout active) with gradient
// recording on. rng drives dropout masks; it may be nil if no dropout op is
// used in training mode.
func NewTape(e *Engine, rng *rand.Rand) *Tape {
	return &Tape{eng: e, rng: rng, training: true, arena: arena{free: map[int][][]float32{}}}
}

// NewInferenceTape returns a tape for inference: evaluation mode (dropout off) and no
// gradient recording, PyTorch's model.eval() under torch.no_grad().
func NewInferenceTape(e *Engine) *Tape {
	tp := NewTape(e, nil)
	tp.SetTraining(false)
	tp.SetGrad(false)
	return tp
}

// Engine returns the tape's engine.
func (tp *Tape) Engine() *Engine { return tp.eng }

// SetTraining switches dropout on (true) or off (false, evaluation mode).
func (tp *Tape) SetTraining(on bool) { tp.training = on }

// Training reports whether dropout is active.
func (tp *Tape) Training() bool { return tp.training }

// SetGrad turns gradient recording on or off; off is for inference, where
// nothing is recorded and no gradient memory is used.
func (tp *Tape) SetGrad(on bool) { tp.noGrad = !on }

// Backward computes d loss / d x for every tensor x that requires a
// gradient and that loss depends on, accumulating into x.Grad (parameter
// gradients add up over calls until ZeroGrad). loss must have exactly one
// element. The recorded operations are consumed: call Backward once per
// forward pass.
func (tp *Tape) Backward(loss *Tensor) error {
	if loss.Len() != 1 {
		return fmt.Errorf("nn: Backward needs a scalar loss, got shape %v", loss.Shape)
	}
	if !loss.needGrad {
		return errors.New("nn: loss does not depend on any tensor that requires a gradient (or gradients are off)")
	}
	tp.backwardFrom(loss, []float32{1})
	return nil
}

// backwardFrom runs the recorded backward functions with seed added to
// out's gradient (d something / d out).
func (tp *Tape) backwardFrom(out *Tensor, seed []float32) {
	g := tp.gradOf(out)
	for i, v := range seed {
		g[i] += v
	}
	for i := len(tp.ops) - 1; i >= 0; i-- {
		op := tp.ops[i]
		if op.out.Grad != nil {
			op.backward()
		}
		tp.ops[i] = tapeOp{}
	}
	tp.ops = tp.ops[:0]
}

// Reset forgets the recorded operations and recycles the memory of every
// tensor the tape created; those tensors must not be used afterwards.
// Parameters and other caller-owned tensors are untouched.
func (tp *Tape) Reset() {
	clear(tp.ops)
	tp.ops = tp.ops[:0]
	tp.arena.release()
}

// newTensor returns a zeroed tape-owned tensor.
func (tp *Tape) newTensor(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{Shape: append([]int(nil), shape...), Data: tp.arena.get(n, true)}
}

// newRaw is newTensor without zeroing, for operations that write every
// element.
func (tp *Tape) newRaw(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{Shape: append([]int(nil), shape...), Data: tp.arena.get(n, false)}
}

// scratch returns zeroed tape-owned memory valid until Reset.
func (tp *Tape) scratch(n int) []float32 { return tp.arena.get(n, true) }

// record marks out as differentiable when any input is, and if so registers
// its backward function. It returns whether the op was recorded (callers may
// skip saving state for the backward pass otherwise).
func (tp *Tape) record(out *Tensor, backward func(), inputs ...*Tensor) bool {
	if tp.noGrad {
		return false
	}
	for _, in := range inputs {
		if in != nil && in.needGrad {
			out.needGrad = true
			tp.ops = append(tp.ops, tapeOp{out: out, backward: backward})
			return true
		}
	}
	return false
}

// gradOf returns t.Grad, allocating it (zeroed) on first use.
func (tp *Tape) gradOf(t *Tensor) []float32 {
	if t.Grad == nil {
		t.Grad = tp.arena.get(len(t.Data), false)
		tp.eng.zero(t.Grad)
	}
	return t.Grad
}

// arena recycles float32 buffers by exact length.
type arena struct {
	free map[int][][]float32
	used [][]float32
}

func (a *arena) get(n int, zero bool) []float32 {
	if n == 0 {
		return []float32{}
	}
	if l := a.free[n]; len(l) > 0 {
		s := l[len(l)-1]
		a.free[n] = l[:len(l)-1]
		if zero {
			clear(s)
		}
		a.used = append(a.used, s)
		return s
	}
	s := make([]float32, n)
	a.used = append(a.used, s)
	return s
}

func (a *arena) release() {
	for _, s := range a.used {
		a.free[len(s)] = append(a.free[len(s)], s)
	}
	clear(a.used)
	a.used = a.used[:0]
}
