// Package neural trains, saves and runs the three deep-learning forecasters of the original
// Python project — Darts' BlockRNNModel, TCNModel and TransformerModel — in pure Go, on the
// autodiff engine of package nn.
//
// # Models
//
// Each network mirrors, layer for layer, the torch module Darts 0.21.0 builds at its default
// hyper-parameters (darts/models/forecasting/block_rnn_model.py, tcn_model.py,
// transformer_model.py; the same math from 0.20 to 0.45), as re-implemented in
// shared/bench/torch_reference.py:
//
//   - BlockRNN (Arch RNN, LSTM or GRU): a recurrent layer (hidden 25) whose last hidden state
//     goes through Linear(25, 14). 1489 parameters for the RNN on 18 features.
//   - TCN: residual blocks of causal dilated convolutions (kernel 3, 3 filters, dilation base
//     2, dropout 0.2, Darts' block-count rule: 3 blocks for an input of 15 days). 356
//     parameters. Trained, as Darts trains it, on a 15-step target shifted 14 days ahead;
//     its forecast is the last 14 of its 15 outputs.
//   - Transformer: torch.nn.Transformer (d_model 64, 4 heads, 3 encoder and 3 decoder
//     post-norm layers, feed-forward 512, dropout 0.1) between a Linear(18, 64) embedding
//     scaled by √18 with sinusoidal positions, and a Linear(64, 14) head; the decoder reads
//     one token, the last input day. 550734 parameters.
//
// Parameters carry PyTorch's state_dict names and layouts, and are initialised with
// PyTorch's rules in the module's construction order (including torch.nn.Transformer's
// deep-copied layers and xavier re-initialisation). The random streams are Go's (PCG), so a
// seed gives the same distribution as PyTorch, not the same numbers. A test loads weights
// into each network and checks its outputs and gradients against PyTorch's
// (testdata/torch_forward.py).
//
// # Training
//
// Train follows Darts' TorchForecastingModel.fit: min-max scaling, every stride-1 window of
// the training rows (Darts' PastCovariatesSequentialDataset, or PastCovariatesShiftedDataset
// for the TCN), shuffled mini-batches of 32 without dropping the last, MSE loss, Adam with
// learning rate 1e-3, 100 epochs. The scaler is fitted on the training rows only, unless
// TrainOptions.ScaleAllRows asks for the original (leaky) way. TrainOptions.ValidationRows
// holds out the last rows and reports a validation loss per epoch; Patience adds early
// stopping (restoring the best epoch's parameters). Training is cancelled with its context
// and reports each epoch to a callback.
//
// A run is deterministic: with the same seed, data and options, the weights and losses are
// bit-for-bit the same, whatever the number of threads (the engine's reductions have a
// fixed order; tested).
//
// # Using a model
//
// Model.Forecast turns the last InputLen rows of a series (target first, then the
// covariates, in the model's units) into the next OutputLen days, inverse-scaled;
// Model.Predict clips that at 0. Forecaster implements prevoir.Forecaster for rnn, lstm,
// gru, tcn and transformer; its quantiles are, for now, copies of the point forecast.
//
// Model.Save and Load write and read a versioned binary model file (configuration, feature
// names, scaler and weights, with a SHA-256 checksum; see file.go for the layout). A loaded
// model forecasts bit-for-bit as the saved one did; a truncated or corrupted file is an
// error (ErrTruncated, ErrCorrupt).
//
// # Benchmark
//
// internal/bench reproduces shared/bench/torch_reference.py's protocol and JSON fields with
// TrainScaled; "prevoir bench train" runs it. docs/benchmarks/networks.md has the measurements.
package neural
