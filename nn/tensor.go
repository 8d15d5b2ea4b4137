package nn

import (
	"fmt"
	"slices"
)

// Tensor is a dense row-major float32 array with an optional gradient.
//
// Tensors made by a Tape's operations live in the tape's arena: their Data
// and Grad are only valid until the tape's Reset (clone what you keep).
// Tensors made with New, FromSlice or as a Param are owned by the caller.
type Tensor struct {
	Shape []int
	Data  []float32
	// Grad has the same length as Data when the tensor takes part in
	// differentiation; for parameters it accumulates over Backward calls
	// until ZeroGrad.
	Grad []float32

	needGrad bool
}

// New returns a zero tensor of the given shape.
func New(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{Shape: slices.Clone(shape), Data: make([]float32, n)}
}

// FromSlice wraps data (not copied) as a tensor of the given shape. It
// returns an error when the shape is invalid or does not match len(data).
func FromSlice(data []float32, shape ...int) (*Tensor, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("nn: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != len(data) {
		return nil, fmt.Errorf("nn: shape %v needs %d elements, got %d", shape, n, len(data))
	}
	return &Tensor{Shape: slices.Clone(shape), Data: data}, nil
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dims is the number of dimensions.
func (t *Tensor) Dims() int { return len(t.Shape) }

// RequiresGrad reports whether gradients flow into t.
func (t *Tensor) RequiresGrad() bool { return t.needGrad }

// SetRequiresGrad marks a caller-owned tensor as a leaf whose gradient is
// wanted (parameters already are); it allocates Grad if needed.
func (t *Tensor) SetRequiresGrad(v bool) {
	t.needGrad = v
	if v && len(t.Grad) != len(t.Data) {
		t.Grad = make([]float32, len(t.Data))
	}
}

// Clone returns a caller-owned deep copy of t (data and, if present, grad),
// without gradient tracking.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
	if t.Grad != nil {
		c.Grad = slices.Clone(t.Grad)
	}
	return c
}

// String prints the shape (and data when small) for debugging.
func (t *Tensor) String() string {
	if len(t.Data) <= 16 {
		return fmt.Sprintf("Tensor%v%v", t.Shape, t.Data)
	}
	return fmt.Sprintf("Tensor%v", t.Shape)
}

// lastDim returns the size of the last dimension and the product of the
// others (rows); a 0-d tensor is one row of one column.
func (t *Tensor) lastDim() (rows, cols int) {
	if len(t.Shape) == 0 {
		return 1, 1
	}
	cols = t.Shape[len(t.Shape)-1]
	if cols == 0 {
		return 0, 0
	}
	return len(t.Data) / cols, cols
}

func checkShape(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("nn: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

func sameShape(a, b []int) bool { return slices.Equal(a, b) }

// isSuffix reports whether s is a trailing part of shape (broadcast over the
// leading dimensions).
func isSuffix(s, shape []int) bool {
	return len(s) <= len(shape) && slices.Equal(s, shape[len(shape)-len(s):])
}
