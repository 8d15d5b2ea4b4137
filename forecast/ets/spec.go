package ets

import (
	"fmt"
	"strings"
)

// Component is the form of the error, trend or seasonal component of an ETS model.
type Component int

// The component forms of the taxonomy of Hyndman et al. (2008), table 2.1. Multiplicative
// trends are not supported (forecast::ets excludes them from its automatic search by default).
const (
	None Component = iota
	Additive
	Multiplicative
)

func (c Component) letter() string {
	switch c {
	case None:
		return "N"
	case Additive:
		return "A"
	case Multiplicative:
		return "M"
	}
	return "?"
}

// Spec identifies an ETS model: ETS(Error, Trend[d], Season).
type Spec struct {
	Error  Component // Additive or Multiplicative
	Trend  Component // None or Additive
	Damped bool      // damped trend (requires Trend == Additive)
	Season Component // None, Additive or Multiplicative
}

// String returns the model name in the notation of Hyndman et al. (2008), e.g. "ETS(A,Ad,A)".
func (s Spec) String() string {
	t := s.Trend.letter()
	if s.Damped {
		t += "d"
	}
	return fmt.Sprintf("ETS(%s,%s,%s)", s.Error.letter(), t, s.Season.letter())
}

// ParseSpec parses a model code such as "ANN", "AAdA" or "MAdM" (error, trend with an
// optional "d" for damping, season), the notation of forecast::ets's model argument.
func ParseSpec(code string) (Spec, error) {
	c := strings.ToUpper(code)
	var s Spec
	damped := strings.Contains(c, "D")
	c = strings.Replace(c, "D", "", 1)
	if len(c) != 3 {
		return s, fmt.Errorf("ets: model code %q must look like \"ANN\", \"AAdA\" or \"MAM\"", code)
	}
	comp := func(b byte, what string) (Component, error) {
		switch b {
		case 'N':
			return None, nil
		case 'A':
			return Additive, nil
		case 'M':
			return Multiplicative, nil
		}
		return None, fmt.Errorf("ets: model code %q: bad %s letter %q", code, what, b)
	}
	var err error
	if s.Error, err = comp(c[0], "error"); err != nil {
		return s, err
	}
	if s.Trend, err = comp(c[1], "trend"); err != nil {
		return s, err
	}
	if s.Season, err = comp(c[2], "season"); err != nil {
		return s, err
	}
	s.Damped = damped
	return s, s.validate()
}

// validate rejects the combinations this package does not fit.
func (s Spec) validate() error {
	switch {
	case s.Error != Additive && s.Error != Multiplicative:
		return fmt.Errorf("ets: %v: error must be additive or multiplicative", s)
	case s.Trend == Multiplicative:
		return fmt.Errorf("ets: %v: multiplicative trends are not supported", s)
	case s.Damped && s.Trend == None:
		return fmt.Errorf("ets: %v: a damped model needs a trend", s)
	case s.Season != None && s.Season != Additive && s.Season != Multiplicative:
		return fmt.Errorf("ets: %v: bad season", s)
	}
	return nil
}

// Restricted reports whether forecast::ets (restrict = TRUE) excludes the model from automatic
// selection because its forecast variance can be infinite or it is numerically unstable:
// additive errors with a multiplicative season, and ETS(M,M,A) (Hyndman et al. 2008,
// section 7.3 / forecast::ets source).
func (s Spec) Restricted() bool {
	return s.Error == Additive && s.Season == Multiplicative ||
		s.Error == Multiplicative && s.Trend == Multiplicative && s.Season == Additive
}

// nstate returns the number of free initial states (the last seasonal state is implied by
// the normalisation) and the number of smoothing parameters.
func (s Spec) counts(m int) (nstate, npar int) {
	nstate, npar = 1, 1
	if s.Trend != None {
		nstate++
		npar++
	}
	if s.Season != None {
		nstate += m - 1
		npar++
	}
	if s.Damped {
		npar++
	}
	return nstate, npar
}
