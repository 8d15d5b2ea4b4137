package neural

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func trained(t *testing.T, a Arch) (*Model, *Dataset) {
	t.Helper()
	ds := synthetic(60)
	m, _, err := Train(context.Background(), small(a), ds, TrainOptions{Epochs: 2, Seed: 3, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m, ds
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, a := range Archs() {
		m, ds := trained(t, a)
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := Load(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if got.Config() != m.Config() || !slices.Equal(got.Features(), m.Features()) {
			t.Errorf("%s: config or features differ after loading", a)
		}
		for i, p := range got.Params() {
			if p.Name != m.Params()[i].Name || !slices.Equal(p.Data, m.Params()[i].Data) {
				t.Fatalf("%s: parameter %s differs after loading", a, p.Name)
			}
		}
		in := ds.Rows[ds.Len()-m.Config().InputLen:]
		want, err := m.Forecast(in)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := got.Forecast(in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(fc, want) {
			t.Errorf("%s: forecast after loading %v, before %v", a, fc, want)
		}
		// Saving again gives the same bytes.
		var again bytes.Buffer
		if err := got.Save(&again); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Errorf("%s: saving the loaded model gives different bytes (%v)", a, err)
		}
	}
}

func TestSaveFileLoadFile(t *testing.T) {
	m, _ := trained(t, TCN)
	path := filepath.Join(t.TempDir(), "tcn.prevoirnn")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.NumParams() != m.NumParams() {
		t.Errorf("%d parameters after loading, want %d", got.NumParams(), m.NumParams())
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestLoadRejectsDamagedFiles(t *testing.T) {
	m, _ := trained(t, GRU)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	hl := int(good[11]) | int(good[12])<<8 | int(good[13])<<16 | int(good[14])<<24

	flip := func(i int) []byte {
		b := slices.Clone(good)
		b[i] ^= 0x10
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotModelFile},
		{"other file", []byte("date,incid_dchosp\n2022-01-01,1\n"), ErrNotModelFile},
		{"magic only", good[:5], ErrTruncated},
		{"cut in the header", good[:20], ErrTruncated},
		{"cut in the weights", good[:len(good)/2], ErrTruncated},
		{"checksum cut", good[:len(good)-1], ErrTruncated},
		{"weight bit flipped", flip(15 + hl + 40), ErrCorrupt},
		{"header bit flipped", flip(30), ErrCorrupt},
		{"checksum bit flipped", flip(len(good) - 3), ErrCorrupt},
		{"extra bytes", append(slices.Clone(good), 0), ErrCorrupt},
	} {
		_, err := Load(bytes.NewReader(tc.data))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	// Another version is named as such.
	b := slices.Clone(good)
	b[9] = 2
	if _, err := Load(bytes.NewReader(b)); err == nil || !bytes.Contains([]byte(err.Error()), []byte("version 2")) {
		t.Errorf("version 2: error %v", err)
	}
	// An untrained model cannot be saved.
	u, _ := newModel(config(RNN, 3), 1)
	if err := u.Save(&bytes.Buffer{}); err == nil {
		t.Error("saved a model without a scaler")
	}
}
