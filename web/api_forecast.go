package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/prevoir/prevoir"
)

// The forecast endpoints: the served forecast, the observed history and the past forecasts.

func forecastBlob(st *state, format string) *blob {
	if st.forecastResp == nil {
		return errorBlob(notFoundErr("%s", prevoir.NoForecastNote(st.model, st.champion)))
	}
	fr := st.forecastResp
	if format == "json" {
		return jsonBlob(http.StatusOK, fr)
	}
	header := []string{"date", "horizon", "point", "lower_50", "upper_50", "lower_80", "upper_80", "lower_95", "upper_95"}
	for _, q := range fr.QuantileLevels {
		header = append(header, "q"+strconv.FormatFloat(q, 'g', -1, 64))
	}
	var rows [][]string
	for _, d := range fr.Days {
		row := []string{d.Date.String(), strconv.Itoa(d.Horizon), csvNum(d.Point), csvNum(d.Lower50), csvNum(d.Upper50),
			csvNum(d.Lower80), csvNum(d.Upper80), csvNum(d.Lower95), csvNum(d.Upper95)}
		for _, v := range d.Quantiles {
			row = append(row, csvNum(v))
		}
		rows = append(rows, row)
	}
	return csvBlob(header, rows)
}

func historyBlob(st *state, from, to prevoir.Date, format string) *blob {
	h := st.history(from, to)
	if format == "json" {
		return jsonBlob(http.StatusOK, h)
	}
	rows := make([][]string, len(h.Days))
	for i, d := range h.Days {
		rows[i] = []string{d.Date.String(), csvNum(d.Value)}
	}
	return csvBlob([]string{"date", h.Target}, rows)
}

func forecastsBlob(st *state, limit, version int, format string) *blob {
	out := ForecastsResponse{RegisteredModel: st.model, Forecasts: []PastForecast{}}
	for _, pf := range st.past {
		if version != 0 && pf.Version != version {
			continue
		}
		if len(out.Forecasts) == limit {
			break
		}
		out.Forecasts = append(out.Forecasts, pf)
	}
	if format == "json" {
		return jsonBlob(http.StatusOK, out)
	}
	var rows [][]string
	for _, pf := range out.Forecasts {
		for _, d := range pf.Days {
			rows = append(rows, []string{strconv.FormatInt(pf.ID, 10), strconv.Itoa(pf.Version), pf.Family, pf.Origin.String(), csvTime(pf.MadeAt),
				d.Date.String(), strconv.Itoa(d.Horizon), csvNum(d.Point), csvNum(d.Lower80), csvNum(d.Upper80), csvNum(d.Lower95), csvNum(d.Upper95),
				csvNum(d.Actual), csvNum(d.AbsError)})
		}
	}
	return csvBlob([]string{"forecast_id", "version", "family", "origin", "made_at", "date", "horizon", "point",
		"lower_80", "upper_80", "lower_95", "upper_95", "actual", "abs_error"}, rows)
}

func (s *Server) apiForecast(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	respond(w, r, st, "forecast:"+format, func() *blob { return forecastBlob(st, format) })
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "days", "from", "to", "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	from, err := parseDateParam(q, "from")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	to, err := parseDateParam(q, "to")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	days := q.Get("days")
	switch {
	case days != "" && (from != 0 || to != 0):
		s.writeAPIError(w, r, badRequest("give either days or from/to, not both"))
		return
	case from != 0 && to != 0 && to < from:
		s.writeAPIError(w, r, badRequest("to %s is before from %s", to, from))
		return
	case days == "" && from == 0 && to == 0:
		days = "all"
	}
	key := ""
	if days != "" {
		n, err := parseDays(days)
		if err != nil {
			s.writeAPIError(w, r, statusOf(err))
			return
		}
		if slices.Contains(spans[:], days) {
			key = "history:" + days + ":" + format
		}
		from, to = st.lastDays(n)
	}
	respond(w, r, st, key, func() *blob { return historyBlob(st, from, to, format) })
}

func (s *Server) apiForecasts(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "limit", "version", "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	limit, err := parseLimit(q, defaultForecastsLimit, maxForecastsLimit)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	version := 0
	if v := q.Get("version"); v != "" {
		if version, err = strconv.Atoi(v); err != nil || version < 1 {
			s.writeAPIError(w, r, badRequest("version %q: want a positive whole number", v))
			return
		}
	}
	key := ""
	if limit == defaultForecastsLimit && version == 0 {
		key = "forecasts:" + format
	}
	respond(w, r, st, key, func() *blob { return forecastsBlob(st, limit, version, format) })
}
