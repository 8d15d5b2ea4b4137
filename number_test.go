package prevoir_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/prevoir/prevoir"
)

// TestNumberJSON: NaN and ±Inf are null, a finite value its shortest decimal, and null reads
// back as NaN; a Series is written the same way, element by element.
func TestNumberJSON(t *testing.T) {
	type row struct {
		A, B, C, D prevoir.Number
		S          prevoir.Series
	}
	in := row{A: 1.5, B: prevoir.NaN(), C: prevoir.Number(math.Inf(1)), D: 0.1,
		S: prevoir.Series{2, math.NaN(), math.Inf(-1), 1e21, -0.25}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"A":1.5,"B":null,"C":null,"D":0.1,"S":[2,null,null,1e+21,-0.25]}`
	if string(b) != want {
		t.Fatalf("marshal = %s, want %s", b, want)
	}
	var out row
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.A != 1.5 || !math.IsNaN(float64(out.B)) || out.B.Valid() || out.C.Valid() || !out.D.Valid() || out.D != 0.1 {
		t.Errorf("numbers read back as %+v", out)
	}
	if len(out.S) != 5 || out.S[0] != 2 || !math.IsNaN(out.S[1]) || !math.IsNaN(out.S[2]) || out.S[3] != 1e21 || out.S[4] != -0.25 {
		t.Errorf("series read back as %v", out.S)
	}
	if err := json.Unmarshal([]byte(`{"A":"x"}`), &out); err == nil {
		t.Errorf("a string read as a Number")
	}
	if err := json.Unmarshal([]byte(`{"S":[1,"x"]}`), &out); err == nil {
		t.Errorf("a string read into a Series")
	}
}
