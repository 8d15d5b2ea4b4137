package nn

import "fmt"

// Param is a trainable tensor with the dotted name PyTorch's
// state_dict would give it (e.g. "transformer.encoder.layers.0.linear1.weight"),
// so that models can count, save and load parameters by name.
type Param struct {
	Name string
	*Tensor
}

// NewParam returns a zero parameter of the given shape with gradient
// storage allocated.
func NewParam(name string, shape ...int) *Param {
	t := New(shape...)
	t.SetRequiresGrad(true)
	return &Param{Name: name, Tensor: t}
}

// Module is anything that owns parameters.
type Module interface {
	Params() []*Param
}

// ZeroGrad sets the gradients of params to zero.
func ZeroGrad(params []*Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// CountParams is the total number of scalar parameters.
func CountParams(params []*Param) int {
	n := 0
	for _, p := range params {
		n += p.Len()
	}
	return n
}

// CheckUniqueNames returns an error if two parameters share a name.
func CheckUniqueNames(params []*Param) error {
	seen := make(map[string]bool, len(params))
	for _, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("nn: duplicate parameter name %q", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
