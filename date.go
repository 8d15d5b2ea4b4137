package prevoir

import (
	"fmt"
	"time"
)

// Date is a civil calendar day, counted in days since 1970-01-01. Santé publique France dates
// its rows by day with no time zone, so a day number avoids time-zone and DST pitfalls and makes
// calendar arithmetic (gaps, spans, lags) plain integer arithmetic.
type Date int32

// DateLayout is the ISO 8601 layout used by the sources and by every output of prevoir.
const DateLayout = "2006-01-02"

// ParseDate parses an ISO date (YYYY-MM-DD) strictly: no surrounding space, no time part, and
// a day that exists in the calendar.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || t.Day() != d {
		return 0, fmt.Errorf("date %q: no such day", s)
	}
	return DateOf(t), nil
}

// MustParseDate is ParseDate for constants in code and tests; it panics on a malformed date.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the day.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(DateLayout) }

// AddDays returns the day n days after d (before it when n < 0).
func (d Date) AddDays(n int) Date { return d + Date(n) }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// MarshalText implements encoding.TextMarshaler, so dates appear as "2022-08-23" in JSON.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
