package csvsource

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math"
	"strconv"

	"github.com/prevoir/prevoir"
)

// WriteFrame writes a frame as comma-separated values: a "date" column, then the frame's
// columns; a missing value is an empty field. Numbers are written in the shortest form that
// reads back to the same float64, so a round trip loses nothing.
func WriteFrame(w io.Writer, f *prevoir.Frame) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("date")
	for _, c := range f.Columns {
		bw.WriteByte(',')
		bw.WriteString(c.Name) // column names are identifiers: no quoting needed
	}
	bw.WriteByte('\n')
	var num []byte
	for i, d := range f.Dates {
		bw.WriteString(d.String())
		for _, c := range f.Columns {
			bw.WriteByte(',')
			if v := c.Values[i]; !math.IsNaN(v) {
				num = strconv.AppendFloat(num[:0], v, 'f', -1, 64)
				bw.Write(num)
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// FrameSHA256 identifies a frame by the SHA-256 of its CSV form: two frames with the same
// dates, columns and values have the same hash, whatever run built them.
func FrameSHA256(f *prevoir.Frame) string {
	h := sha256.New()
	WriteFrame(h, f)
	return hex.EncodeToString(h.Sum(nil))
}
