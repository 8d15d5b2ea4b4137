// Package prevoir is the domain of prevoir, a system that forecasts the daily number of COVID-19
// deaths in French hospitals (incid_dchosp) from Santé publique France's open data.
//
// This package holds the domain types (Date, Source, Table, Snapshot, Frame) and the small
// interfaces that the rest of the module implements (for example SnapshotStore). It performs no
// I/O: parsing lives in csvsource, HTTP in datagouv, SQL in sqlstore, artifacts in blobstore.
// Pure domain computations that need no outside dependency, such as merging parsed tables into
// the daily Frame or diffing two releases of a source, live here too.
package prevoir
