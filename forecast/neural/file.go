package neural

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Model files hold a trained model: configuration, scaler and weights, in one binary file.
//
//	offset      size  content
//	0           9     magic "PREVOIRNN"
//	9           2     format version, uint16 little-endian (FileVersion)
//	11          4     header length H, uint32 little-endian
//	15          H     header, JSON (fileHeader): config, feature names, scaler,
//	                  and the parameters' names and shapes in storage order
//	15+H        4·W   weights: every parameter's values in header order, each a
//	                  float32 little-endian, row-major (PyTorch's layout)
//	15+H+4·W    32    SHA-256 of every preceding byte
//
// W is the total number of parameter values the header lists. The checksum catches a
// corrupted file; the lengths catch a truncated one. Floats in the JSON header (the scaler)
// are written in shortest round-trip form, so a loaded model computes exactly what the
// saved one did.

// FileMagic starts every model file.
const FileMagic = "PREVOIRNN"

// FileVersion is the version of the model file format this package writes and reads.
const FileVersion = 1

// Model file errors, for errors.Is.
var (
	ErrNotModelFile = errors.New("not a prevoir model file")
	ErrTruncated    = errors.New("model file truncated")
	ErrCorrupt      = errors.New("model file corrupted")
)

const (
	prefixLen   = len(FileMagic) + 2 + 4
	checksumLen = sha256.Size
	// maxHeader bounds the header length read from a file before it is verified.
	maxHeader = 16 << 20
)

type fileHeader struct {
	Config   Config      `json:"config"`
	Features []string    `json:"features"`
	Scaler   *Scaler     `json:"scaler"`
	Params   []paramInfo `json:"params"`
}

type paramInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Save writes the model file of m to w.
func (m *Model) Save(w io.Writer) error {
	if m.scaler == nil {
		return fmt.Errorf("neural: cannot save an untrained %s model (no scaler)", m.cfg.Arch)
	}
	h := fileHeader{Config: m.cfg, Features: m.names, Scaler: m.scaler}
	n := 0
	for _, p := range m.params {
		h.Params = append(h.Params, paramInfo{Name: p.Name, Shape: p.Shape})
		n += p.Len()
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b := make([]byte, 0, prefixLen+len(hj)+4*n+checksumLen)
	b = append(b, FileMagic...)
	b = binary.LittleEndian.AppendUint16(b, FileVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hj)))
	b = append(b, hj...)
	for _, p := range m.params {
		for _, v := range p.Data {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	sum := sha256.Sum256(b)
	b = append(b, sum[:]...)
	_, err = w.Write(b)
	return err
}

// SaveFile writes the model file of m to path, atomically: a partial file is never left
// under that name.
func (m *Model) SaveFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := m.Save(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads a model file. It returns an error wrapping ErrNotModelFile, ErrTruncated or
// ErrCorrupt when the data is not a complete, intact model file of a known version.
func Load(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return decode(b)
}

// LoadFile reads the model file at path.
func LoadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func decode(b []byte) (*Model, error) {
	if len(b) < len(FileMagic) || string(b[:len(FileMagic)]) != FileMagic {
		if len(b) > 0 && len(b) < len(FileMagic) && bytes.HasPrefix([]byte(FileMagic), b) {
			return nil, fmt.Errorf("neural: %w: %d bytes", ErrTruncated, len(b))
		}
		return nil, fmt.Errorf("neural: %w (no %q magic)", ErrNotModelFile, FileMagic)
	}
	if len(b) < prefixLen+checksumLen {
		return nil, fmt.Errorf("neural: %w: %d bytes", ErrTruncated, len(b))
	}
	if v := binary.LittleEndian.Uint16(b[len(FileMagic):]); v != FileVersion {
		return nil, fmt.Errorf("neural: model file format version %d; this program reads version %d", v, FileVersion)
	}
	hl := int(binary.LittleEndian.Uint32(b[len(FileMagic)+2:]))
	if hl > maxHeader {
		return nil, fmt.Errorf("neural: %w: header length %d", ErrCorrupt, hl)
	}
	if len(b) < prefixLen+hl+checksumLen {
		return nil, fmt.Errorf("neural: %w: %d bytes, the header alone needs %d", ErrTruncated, len(b), prefixLen+hl+checksumLen)
	}
	var h fileHeader
	headerErr := json.Unmarshal(b[prefixLen:prefixLen+hl], &h)
	want := -1 // expected file length, when the header can be read
	if headerErr == nil {
		n := 0
		for _, p := range h.Params {
			k := 1
			for _, d := range p.Shape {
				k *= d
			}
			n += k
		}
		want = prefixLen + hl + 4*n + checksumLen
	}
	body := b[:len(b)-checksumLen]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], b[len(body):]) {
		if want > len(b) {
			return nil, fmt.Errorf("neural: %w: %d bytes, the header announces %d", ErrTruncated, len(b), want)
		}
		return nil, fmt.Errorf("neural: %w: SHA-256 checksum mismatch", ErrCorrupt)
	}
	if headerErr != nil {
		return nil, fmt.Errorf("neural: %w: header: %v", ErrCorrupt, headerErr)
	}
	if want != len(b) {
		return nil, fmt.Errorf("neural: %w: %d bytes, the header announces %d", ErrCorrupt, len(b), want)
	}
	return h.model(b[prefixLen+hl : len(body)])
}

// model rebuilds the network of the header and fills in the weights.
func (h *fileHeader) model(weights []byte) (*Model, error) {
	m, err := newModel(h.Config, 0)
	if err != nil {
		return nil, fmt.Errorf("neural: model file: %w", err)
	}
	if len(h.Features) != h.Config.InputSize {
		return nil, fmt.Errorf("neural: model file: %d feature names for %d inputs", len(h.Features), h.Config.InputSize)
	}
	if h.Scaler == nil {
		return nil, fmt.Errorf("neural: model file has no scaler")
	}
	if err := h.Scaler.validate(h.Config.InputSize); err != nil {
		return nil, fmt.Errorf("neural: model file: %w", err)
	}
	if len(h.Params) != len(m.params) {
		return nil, fmt.Errorf("neural: model file has %d parameters, a %s network %d", len(h.Params), h.Config.Arch, len(m.params))
	}
	for i, p := range m.params {
		if h.Params[i].Name != p.Name || !slices.Equal(h.Params[i].Shape, p.Shape) {
			return nil, fmt.Errorf("neural: model file parameter %d is %s %v, the network's %s %v",
				i, h.Params[i].Name, h.Params[i].Shape, p.Name, p.Shape)
		}
		for j := range p.Data {
			p.Data[j] = math.Float32frombits(binary.LittleEndian.Uint32(weights))
			weights = weights[4:]
		}
	}
	m.names, m.scaler = h.Features, h.Scaler
	return m, nil
}
