#!/usr/bin/env python3
"""Computes PyTorch's outputs for the networks of cases.json (written by
PREVOIR_WRITE_TORCH_CASES=cases.json go test -run TestWriteTorchCases ./forecast/neural)
with the modules of shared/bench/torch_reference.py, in float64 and evaluation mode, and
writes the cases with their outputs (testdata/torch_forward.json).

Usage, from the project root:
    PREVOIR_WRITE_TORCH_CASES=cases.json go test -run TestWriteTorchCases ./forecast/neural
    python3 forecast/neural/testdata/torch_forward.py forecast/neural/cases.json ../shared/bench \
        forecast/neural/testdata/torch_forward.json
"""
import json
import sys

import torch
import torch.nn as nn

sys.path.insert(0, sys.argv[2])
import torch_reference as ref  # noqa: E402


def build(c):
    a, f = c["arch"], c["input_size"]
    if a in ("rnn", "lstm", "gru"):
        m = ref.BlockRNN(f, out_len=c["output_len"], hidden_dim=c["hidden"], num_layers=c["layers"])
        if a != "rnn":  # Darts' _BlockRNNModule: getattr(nn, name)(...)
            cls = nn.LSTM if a == "lstm" else nn.GRU
            m.rnn = cls(f, c["hidden"], c["layers"], batch_first=True)

            def fwd(x, m=m):
                _, h = m.rnn(x)
                if isinstance(h, tuple):
                    h = h[0]
                return m.fc(h[-1]).view(x.size(0), m.out_len)
            m.forward = fwd
        return m
    if a == "tcn":
        return ref.TCN(f, c["input_len"], kernel_size=c["kernel"], num_filters=c["filters"],
                       dilation_base=c["dilation_base"], dropout=c["dropout"])
    return ref.Transformer(f, c["input_len"], out_len=c["output_len"], d_model=c["d_model"],
                           nhead=c["heads"], num_encoder_layers=c["encoder_layers"],
                           num_decoder_layers=c["decoder_layers"],
                           dim_feedforward=c["dim_feedforward"], dropout=c["dropout"])


def main():
    cases = json.load(open(sys.argv[1]))
    for case in cases:
        c = case["config"]
        m = build(c).double()
        sd = m.state_dict()
        new = {}
        for k, v in sd.items():
            if k.endswith("pe"):
                new[k] = v
                continue
            new[k] = torch.tensor(case["params"][k], dtype=torch.float64).reshape(v.shape)
        assert set(new) - {k for k in new if k.endswith("pe")} == set(case["params"]), c["arch"]
        m.load_state_dict(new)
        m.eval()
        x = torch.tensor(case["input"], dtype=torch.float64).reshape(case["batch"], c["input_len"], c["input_size"])
        out = m(x)
        case["torch_output"] = out.detach().reshape(-1).tolist()
        # Gradients of the MSE against a fixed target (evaluation mode: no dropout).
        y = torch.linspace(0, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
        torch.nn.functional.mse_loss(out, y).backward()
        # 8 significant digits: the Go test's tolerance is far coarser, the file smaller.
        case["torch_grads"] = {k: [float("%.8g" % g) for g in p.grad.reshape(-1).tolist()]
                               for k, p in m.named_parameters()}
    json.dump(cases, open(sys.argv[3], "w"))


if __name__ == "__main__":
    main()
