package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// TestBlobKeyTables: on both databases, the tables that record artifacts are found by their
// blob_key column, with whether they record the artifacts' SHA-256.
func TestBlobKeyTables(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, url string) {
		db := openDB(t, url)
		got, err := sqlstore.BlobKeyTables(context.Background(), db.SQL(), db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		want := []sqlstore.BlobKeyTable{{Name: "run_artifacts", HasSHA256: true}, {Name: "snapshots", HasSHA256: true}}
		if !slices.Equal(got, want) {
			t.Errorf("BlobKeyTables = %+v, want %+v", got, want)
		}
	})
}
