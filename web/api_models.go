package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir"
)

// The model endpoints: the leaderboard (backtest and live error), the registered versions.

func (st *state) leaderboard() *LeaderboardResponse {
	lb := &LeaderboardResponse{RegisteredModel: st.model, Champion: st.champion, Backtest: st.backtest, BacktestMessage: st.backtestMsg,
		LiveWindowDays: prevoir.LiveWindow, Live: st.live, LiveDaily: st.liveDaily, ChampionHistory: st.aliasHistory}
	if lb.Live == nil {
		lb.Live = []LiveScore{}
	}
	if lb.LiveDaily == nil {
		lb.LiveDaily = []LiveDaily{}
	}
	if lb.ChampionHistory == nil {
		lb.ChampionHistory = []*prevoir.AliasChange{}
	}
	return lb
}

func leaderboardBlob(st *state, format, table string) *blob {
	lb := st.leaderboard()
	if format == "json" {
		return jsonBlob(http.StatusOK, lb)
	}
	if table == "live" {
		var rows [][]string
		for _, l := range lb.Live {
			rows = append(rows, []string{strconv.Itoa(l.Version), l.Family, strconv.FormatBool(l.Champion), l.From.String(), l.To.String(),
				strconv.Itoa(l.Days), strconv.Itoa(l.Points), csvNum(l.MAE), csvNum(l.Coverage80), csvNum(l.Coverage95)})
		}
		return csvBlob([]string{"version", "family", "champion", "from", "to", "days", "points", "mae", "coverage_80", "coverage_95"}, rows)
	}
	header := []string{"name", "champion", "mae", "rmse", "mase", "wis", "coverage_80", "coverage_95", "fit_seconds"}
	h := 0
	if lb.Backtest != nil {
		for _, m := range lb.Backtest.Models {
			h = max(h, len(m.MAEByHorizon))
		}
	}
	for i := 1; i <= h; i++ {
		header = append(header, "mae_h"+strconv.Itoa(i))
	}
	var rows [][]string
	if lb.Backtest != nil {
		for _, m := range lb.Backtest.Models {
			row := []string{m.Name, strconv.FormatBool(m.Champion), csvNum(m.MAE), csvNum(m.RMSE), csvNum(m.MASE), csvNum(m.WIS),
				csvNum(m.Coverage80), csvNum(m.Coverage95), csvNum(m.FitSeconds)}
			for i := range h {
				v := prevoir.NaN()
				if i < len(m.MAEByHorizon) {
					v = prevoir.Number(m.MAEByHorizon[i])
				}
				row = append(row, csvNum(v))
			}
			rows = append(rows, row)
		}
	}
	return csvBlob(header, rows)
}

func (st *state) modelsView() *ModelsResponse {
	out := &ModelsResponse{RegisteredModel: st.model, Aliases: st.aliases, Versions: []VersionView{}, ChampionHistory: st.aliasHistory}
	if out.ChampionHistory == nil {
		out.ChampionHistory = []*prevoir.AliasChange{}
	}
	for _, v := range st.versions {
		out.Versions = append(out.Versions, st.versionView(v))
	}
	return out
}

func (st *state) versionView(v *prevoir.ModelVersion) VersionView {
	vv := VersionView{ModelVersion: v, Aliases: []string{}, Live: st.versionLive(v.Version)}
	for a, n := range st.aliases {
		if n == v.Version {
			vv.Aliases = append(vv.Aliases, a)
		}
	}
	slices.Sort(vv.Aliases)
	return vv
}

func modelsBlob(st *state, format string) *blob {
	mv := st.modelsView()
	if format == "json" {
		return jsonBlob(http.StatusOK, mv)
	}
	var rows [][]string
	for _, v := range mv.Versions {
		mae, cov := prevoir.NaN(), prevoir.NaN()
		if v.Live != nil {
			mae, cov = v.Live.MAE, v.Live.Coverage80
		}
		bt := prevoir.NaN()
		if x, ok := v.Metrics["mae"]; ok {
			bt = prevoir.Number(x)
		}
		rows = append(rows, []string{strconv.Itoa(v.Version), v.Family, strings.Join(v.Aliases, " "), v.RunID, csvTime(v.CreatedAt),
			csvNum(bt), csvNum(mae), csvNum(cov)})
	}
	return csvBlob([]string{"version", "family", "aliases", "run_id", "created_at", "mae", "live_mae", "live_coverage_80"}, rows)
}

func (s *Server) apiLeaderboard(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "table", "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	table := q.Get("table")
	switch {
	case table == "":
		table = "backtest"
	case table != "backtest" && table != "live":
		s.writeAPIError(w, r, badRequest("table %q: want backtest or live", table))
		return
	case format != "csv":
		s.writeAPIError(w, r, badRequest("table applies to format=csv only (the JSON answer has both tables)"))
		return
	}
	if format == "json" {
		respond(w, r, st, "leaderboard:json:backtest", func() *blob { return leaderboardBlob(st, format, table) })
		return
	}
	respond(w, r, st, "leaderboard:csv:"+table, func() *blob { return leaderboardBlob(st, format, table) })
}

func (s *Server) apiModels(w http.ResponseWriter, r *http.Request) {
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
	respond(w, r, st, "models:"+format, func() *blob { return modelsBlob(st, format) })
}

// parseVersion reads a model version number from the path.
func parseVersion(s string) (int, *httpError) {
	v, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || v < 1 || v > 1_000_000_000 {
		return 0, badRequest("version %q: want a positive whole number", truncate(s, 40))
	}
	return v, nil
}

func (s *Server) apiModel(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, err := parseQuery(r, "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	v, herr := parseVersion(r.PathValue("version"))
	if herr != nil {
		s.writeAPIError(w, r, herr)
		return
	}
	for _, mv := range st.versions {
		if mv.Version == v {
			serveBlob(w, r, jsonBlob(http.StatusOK, st.versionView(mv)))
			return
		}
	}
	s.writeAPIError(w, r, notFoundErr("model %s has no version %d", st.model, v))
}
