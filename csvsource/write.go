package csvsource

import (
	"bufio"
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
