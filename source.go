package prevoir

import (
	"fmt"
	"slices"
)

// DefaultHorizon is the number of days forecast, as in the original project.
const DefaultHorizon = 14

// DefaultCovariates are the 17 past covariates of the original project, in its column order:
// eleven from the national indicators, six from SI-DEP.
func DefaultCovariates() []string {
	return []string{
		"hosp", "incid_hosp", "rea", "incid_rea", "rad", "incid_rad", "pos", "pos_7j",
		"tx_pos", "tx_incid", "TO", "pop", "P", "T", "Ti", "Tp", "Td",
	}
}

// Dialect is the CSV flavour of a source.
type Dialect struct {
	// Comma is the field separator (',' or ';').
	Comma rune
	// DecimalComma means numbers are written "67863600,00".
	DecimalComma bool
}

// Filter keeps only the rows whose Column equals Value. A file without Column is taken as
// already filtered (SI-DEP's all-ages files drop cl_age90).
type Filter struct {
	Column string
	Value  string
}

// Schema says what a valid release of a source looks like.
type Schema struct {
	// DateColumn names the column holding the day.
	DateColumn string
	// Required are numeric columns that every release must have; a release without one of them
	// is rejected, because a silently missing covariate would change every model downstream.
	Required []string
	// Text are known non-numeric columns, kept out of numeric parsing.
	Text []string
	// Filter, when set, selects one row per day out of several (an age class, a region).
	Filter *Filter
	// Rules are the plausibility rules of the numeric columns (see CheckPlausibility); a
	// column without one is only bounded by MaxUndeclared.
	Rules []ColumnRule
}

// Source is one dataset published on data.gouv.fr.
type Source struct {
	// Name is prevoir's short name for the source, used on the command line and in storage.
	Name string
	// Title is the dataset's title on data.gouv.fr.
	Title string
	// DatasetSlug identifies the dataset in the data.gouv.fr API.
	DatasetSlug string
	// ResourceID identifies the file inside the dataset; the stable link
	// https://www.data.gouv.fr/fr/datasets/r/<ResourceID> redirects to its current version.
	ResourceID string
	// URL is where the file is fetched from: the stable link by default, a file:// URL or
	// another mirror when configured.
	URL string
	// FileName is the name of the file in a local copy directory (--source-dir).
	FileName string
	Dialect
	Schema
}

// DataGouvBase is the public data.gouv.fr host.
const DataGouvBase = "https://www.data.gouv.fr"

// StableURL returns the stable resource link of a data.gouv.fr resource under base.
func StableURL(base, resourceID string) string {
	return base + "/fr/datasets/r/" + resourceID
}

// Source names.
const (
	SourceIndicators = "indicateurs"
	SourceSIDEP      = "sidep"
)

// DefaultSources returns the two datasets of the original project: the national synthesis of
// epidemic indicators (target and eleven covariates) and SI-DEP test results for France by day
// (six covariates).
func DefaultSources() []Source {
	return []Source{
		{
			Name:        SourceIndicators,
			Title:       "Synthèse des indicateurs de suivi de l'épidémie COVID-19",
			DatasetSlug: "synthese-des-indicateurs-de-suivi-de-lepidemie-covid-19",
			ResourceID:  "f335f9ea-86e3-4ffa-9684-93c009d5e617",
			URL:         StableURL(DataGouvBase, "f335f9ea-86e3-4ffa-9684-93c009d5e617"),
			FileName:    "table-indicateurs-open-data-france.csv",
			Dialect:     Dialect{Comma: ','},
			Schema: Schema{
				DateColumn: "date",
				Required: []string{
					"incid_dchosp", "hosp", "incid_hosp", "rea", "incid_rea", "rad", "incid_rad",
					"pos", "pos_7j", "tx_pos", "tx_incid", "TO",
				},
				Rules: slices.Concat(
					// Daily and cumulative counts of people: deaths, admissions, patients in
					// hospital (hosp) and in intensive care (rea), returns home, positive tests.
					Counts("incid_dchosp", "incid_hosp", "incid_rea", "incid_rad", "hosp", "rea", "rad", "dchosp",
						"pos", "pos_7j", "conf", "conf_j1", "esms_dc", "dc_tot", "esms_cas"),
					// Percentages: test positivity, share of people with a first dose.
					Within(0, 100, "tx_pos", "cv_dose1"),
					// Positive tests per 100,000 inhabitants over 7 days (3,815 at the January
					// 2022 peak).
					Within(0, 100_000, "tx_incid"),
					// TO is a ratio, COVID-19 patients in intensive care over the initial ICU
					// capacity: 1.39 at the April 2020 peak. A release writing it in percent
					// (139) is quarantined: a change of unit must be looked at.
					Within(0, 5, "TO"),
					// R, the effective reproduction number (0.52 .. 2.10 in the data).
					Within(0, 10, "R"),
				),
			},
		},
		{
			Name:        SourceSIDEP,
			Title:       "Données de laboratoires pour le dépistage (SI-DEP), France par jour",
			DatasetSlug: "donnees-de-laboratoires-pour-le-depistage-a-compter-du-18-05-2022-si-dep",
			ResourceID:  "4e8d826a-d2a1-4d69-9ed0-b18a1f3d5ce2",
			URL:         StableURL(DataGouvBase, "4e8d826a-d2a1-4d69-9ed0-b18a1f3d5ce2"),
			FileName:    "sp-fra-jour.csv",
			Dialect:     Dialect{Comma: ';', DecimalComma: true},
			Schema: Schema{
				DateColumn: "jour",
				Required:   []string{"pop", "P", "T", "Ti", "Tp", "Td"},
				Text:       []string{"fra"},
				Filter:     &Filter{Column: "cl_age90", Value: "0"},
				Rules: slices.Concat(
					// Population, positive tests, tests.
					Counts("pop", "P", "T"),
					// Incidence and tests per 100,000 inhabitants; positivity in percent.
					Within(0, 100_000, "Ti", "Td"),
					Within(0, 100, "Tp"),
				),
			},
		},
	}
}

// LookupSource returns the source with the given name.
func LookupSource(sources []Source, name string) (Source, error) {
	for _, s := range sources {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	return Source{}, Errorf(ENOTFOUND, "unknown source %q (known: %v)", name, names)
}

// Validate checks that a source definition is usable.
func (s Source) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("source: empty name")
	case s.URL == "":
		return fmt.Errorf("source %s: empty URL", s.Name)
	case s.DateColumn == "":
		return fmt.Errorf("source %s: empty date column", s.Name)
	case s.Comma != ',' && s.Comma != ';' && s.Comma != '\t':
		return fmt.Errorf("source %s: unsupported separator %q", s.Name, s.Comma)
	}
	return nil
}
