// Package nn is a small float32 deep-learning engine: just what prevoir
// needs to train the three Darts forecasters of the reference benchmark
// (BlockRNN, TCN and Transformer; see shared/bench/README.md) in pure Go.
//
// # Automatic differentiation: a tape
//
// Gradients come from reverse-mode automatic differentiation on a Tape.
// Every operation (tp.MatMul, tp.Add, tp.LayerNormOp, …) computes its
// result at once and, if an input requires a gradient, appends a closure
// that knows how to push the output's gradient back to its inputs;
// Tape.Backward runs the closures in reverse. Layers (Linear, Conv1D,
// LayerNorm, Cell, RNN, MultiheadAttention) are plain structs of
// parameters whose Forward methods call tape operations, so they need no
// backward code of their own.
//
// The alternative, layers with hand-written backward passes, was rejected:
// the three models share few layers, the Transformer's decoder reads the
// encoder output twice per layer and the BlockRNN unrolls one cell over 14
// steps, and each of those fan-outs would need hand-written gradient
// accumulation in the model code. With a tape, models are written as
// forward code only and every gradient rule lives next to its op, where a
// finite-difference test checks it. The cost, one closure per op and
// per-step tape bookkeeping, is small next to the matrix products (the
// Transformer-shaped benchmark records 112 ops per step, most of them on
// thousands of elements).
//
// The tape also owns the memory of the tensors it creates. Tape.Reset
// recycles it by size, so a training loop that repeats the same shapes
// allocates no tensor memory after the first step (only small headers and
// closures). Tensors returned by tape
// operations are therefore only valid until Reset; Clone what must outlive
// the step.
//
// # Conventions
//
//   - Tensors are dense, row-major float32 (Tensor.Data); shapes are []int.
//   - Sequence layers are batch-first: [batch, time, features]. PyTorch's
//     sequence-first Transformer maps onto this directly because nothing
//     but attention mixes tokens, and attention groups them by batch item.
//   - Conv1D is channels-last ([batch, time, channels]) and causal: it
//     equals torch.nn.Conv1d after F.pad(x, (d·(k-1), 0)), with PyTorch's
//     weight layout [out, in, kernel].
//   - Parameter names and layouts follow PyTorch's state_dict (Linear
//     "weight" [out, in]; RNN "weight_ih_l0" with gates stacked i,f,g,o or
//     r,z,n; MultiheadAttention's packed "in_proj_weight" [3E, E]), and
//     initialisation follows PyTorch's defaults (see init.go).
//   - Randomness (initialisation, dropout) comes from a *rand.Rand the
//     caller passes in; the package has no global state.
//
// # Threads and determinism
//
// An Engine fixes the number of worker goroutines (the caller plus helper
// goroutines that live as long as the Engine, see pool.go). Work is split so
// that every output element is computed by one goroutine with a fixed
// accumulation order (GEMM k loop, bias and LayerNorm parameter gradients
// reduced column by column in row order), and dropout masks are a hash of
// (seed, element index), so results are bit-identical for a given seed
// whatever the thread count (tested with 1, 2 and 3 threads). Products of
// at least 256K multiply-adds, attention heads, LayerNorm rows, elementwise
// ops of at least 8K elements, gradient clears and the Adam update (one
// region over fixed 8K-element segments of all parameters) are split, so
// that about 95% of a Transformer step's single-thread time runs in
// regions the second thread shares (docs/benchmarks/nn.md).
// Neither an Engine nor a Tape may be used by two goroutines at once.
//
// # Speed
//
// Matrix products go to nn/internal/gemm, a packed-panel GEMM with AVX-512
// and AVX2/FMA assembly micro-kernels on amd64 and a pure-Go fallback
// (build tag purego); the Adam update and gradient accumulation have AVX2
// loops in nn/internal/vec. A Transformer-sized training step (batch 32,
// 550734 parameters) takes about 15-18 ms on one core of the reference
// machine, against 72 ms for PyTorch float32; docs/benchmarks/nn.md has the
// measurements and the commands.
//
// # Errors and panics
//
// Constructors and functions that take user-facing values (NewLinear,
// NewConv1D, NewLayerNorm, NewCell, NewRNN, NewMultiheadAttention, NewAdam,
// FromSlice, Fans and the init functions, Tape.MSE, Tape.Backward) return
// errors. Tape operations panic, with a message naming the shapes, when
// their operands' shapes do not fit (so do New and NewParam for negative
// dimensions): such a mismatch is a bug in the model code, as a shape error
// in PyTorch is, and checking every op's result would bury the model code
// in error plumbing.
//
// References: PyTorch documentation for module semantics and initialisation
// (https://pytorch.org/docs/stable/nn.html, nn.init, optim.Adam); Vaswani
// et al. 2017, "Attention Is All You Need"; Bai, Kolter and Koltun 2018, "An
// Empirical Evaluation of Generic Convolutional and Recurrent Networks for
// Sequence Modeling"; Kingma and Ba 2015, "Adam: A Method for Stochastic
// Optimization"; Ba, Kiros and Hinton 2016, "Layer Normalization".
package nn
