package neural

import (
	"context"
	"testing"
)

// BenchmarkEpoch times one training epoch of each default network on the benchmark data
// (25 batches of 32), with 2 threads.
func BenchmarkEpoch(b *testing.B) {
	for _, a := range []Arch{RNN, TCN, Transformer} {
		b.Run(string(a), func(b *testing.B) {
			ds := referenceData(b)
			s, err := FitScaler(ds.Rows)
			if err != nil {
				b.Fatal(err)
			}
			cfg := config(a, 18)
			m, err := newModel(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			m.names, m.scaler = ds.Names, s
			scaled := s.transform(ds.Rows)
			w := trainingWindows(cfg, scaled[:819*18], 819)
			opts := TrainOptions{Epochs: 1, Threads: 2}.withDefaults()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.fit(context.Background(), w, windows{}, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
