package backtest

import "github.com/prevoir/prevoir"

// DefaultOrigins is the number of origins a backtest scores when its first origin is not
// given: with weekly origins, about a year.
const DefaultOrigins = 50

// WithOrigins returns the options with their defaults (Every, Horizon, ...) and, for data
// whose last day is last, the origins left unset: To, the last day whose whole horizon is
// observed; From, n-1 periods (Every) before To. The backtest command and training both take
// their origins from it.
func (o Options) WithOrigins(last prevoir.Date, n int) Options {
	o = o.withDefaults()
	if o.To == 0 {
		o.To = last - prevoir.Date(o.Horizon)
	}
	if o.From == 0 {
		o.From = o.To - prevoir.Date((n-1)*o.Every)
	}
	return o
}
