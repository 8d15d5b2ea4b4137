package ensemble

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/prevoir/prevoir"
)

// pinned is the state of an ensemble: its rule and members (each member is pinned beside, in
// the same order).
type pinned struct {
	Name    string   `json:"name"`
	Combine string   `json:"combine"`
	Members []string `json:"members"`
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "ensemble"

// Pin returns the ensemble's rule with the state of each member it combines (prevoir.Pinner).
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	p := &prevoir.Pinned{Kind: PinnedKind}
	for i, m := range ft.members {
		in, ok := m.(prevoir.Pinner)
		if !ok {
			return nil, fmt.Errorf("%s: member %s (%T) cannot be pinned", ft.name, ft.names[i], m)
		}
		mp, err := in.Pin(ctx)
		if err != nil {
			return nil, err
		}
		p.Inner = append(p.Inner, mp)
	}
	b, err := json.Marshal(pinned{Name: ft.name, Combine: ft.combine.String(), Members: ft.names})
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", ft.name, err)
	}
	p.State = b
	p.Summary = fmt.Sprintf("%s of %s, each pinned", ft.combine, strings.Join(ft.names, ", "))
	return p, nil
}

// LoadPinned rebuilds the ensemble p pins on f: each member loaded by load on f, combined by the
// pinned rule.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame, load prevoir.PinnedLoader) (prevoir.Fitted, error) {
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("ensemble: pinned state: %w", err)
	}
	if len(st.Members) == 0 || len(st.Members) != len(p.Inner) {
		return nil, fmt.Errorf("ensemble: pinned state: %d member names for %d pinned members", len(st.Members), len(p.Inner))
	}
	ft := &fitted{name: st.Name, names: st.Members}
	var err error
	if ft.combine, err = ParseCombine(st.Combine); err != nil {
		return nil, fmt.Errorf("ensemble: pinned state: %w", err)
	}
	for i, mp := range p.Inner {
		m, err := load(ctx, mp, f)
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", st.Name, st.Members[i], err)
		}
		ft.members = append(ft.members, m)
	}
	return ft, nil
}
