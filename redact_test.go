package prevoir_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Database URLs: the password goes, the user, host, database and options stay.
		{"postgres://prevoir:pg-Pa55@db:5432/prevoir?sslmode=require", "postgres://prevoir:(set)@db:5432/prevoir?sslmode=require"},
		{"postgresql://u:p@h/db?sslmode=disable&password=q", "postgresql://u:(set)@h/db?sslmode=disable&password=(set)"},
		{"postgres://prevoir@db/prevoir", "postgres://prevoir@db/prevoir"},
		// Object store URLs: keys in the query go, in place; the other parameters keep their order.
		{"s3://bucket?region=eu-west-3&access_key_id=AKIAXYZ&secret_access_key=wJalr%2Fk&endpoint=http://minio:9000",
			"s3://bucket?region=eu-west-3&access_key_id=(set)&secret_access_key=(set)&endpoint=http://minio:9000"},
		{"s3://ak:sk@bucket?region=x", "s3://ak:(set)@bucket?region=x"},
		{"s3://ak:sk@/key", "s3://ak:(set)@/key"},
		{"gs://bucket?access_id=me&private_key_path=/k.pem", "gs://bucket?access_id=me&private_key_path=(set)"},
		{"https://hooks.example/x?Token=abc&sig=def&X-Amz-Signature=ghi", "https://hooks.example/x?Token=(set)&sig=(set)&X-Amz-Signature=(set)"},
		// Nothing secret: unchanged, byte for byte.
		{"file:///srv/prevoir/artifacts?no_tmp_dir=1&metadata=skip", "file:///srv/prevoir/artifacts?no_tmp_dir=1&metadata=skip"},
		{"sqlite:/srv/prevoir/prevoir.db", "sqlite:/srv/prevoir/prevoir.db"},
		{"./prevoir-data/artifacts", "./prevoir-data/artifacts"},
		{"https://www.data.gouv.fr", "https://www.data.gouv.fr"},
		{"CRON_TZ=Europe/Paris 30 19 * * *", "CRON_TZ=Europe/Paris 30 19 * * *"},
		{"", ""},
		// A URL that does not parse may hide its secret anywhere: only its scheme is kept.
		{"postgres://u:pa%zzss@h/db", "postgres://(set) (unparsable URL)"},
	} {
		if got := prevoir.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactSecret(t *testing.T) {
	if got := prevoir.RedactSecret("s3cret-admin-token"); got != prevoir.Redacted || strings.Contains(got, "s3cret") {
		t.Errorf("RedactSecret of a set secret = %q, want %q", got, prevoir.Redacted)
	}
	if got := prevoir.RedactSecret(""); got != "" {
		t.Errorf("RedactSecret of an unset secret = %q, want empty", got)
	}
}

func TestRedactError(t *testing.T) {
	raw := "https://u:pw-1@mirror.example/r/x?token=tok-1"
	cause := errors.New("unreachable")
	for _, quoted := range []string{
		raw, // as given
		"https://u:***@mirror.example/r/x?token=tok-1",   // as net/http quotes it
		"https://u:xxxxx@mirror.example/r/x?token=tok-1", // as url.URL.Redacted spells it
	} {
		err := prevoir.RedactError(fmt.Errorf("Get %q: %w", quoted, cause), raw)
		if msg := err.Error(); strings.Contains(msg, "pw-1") || strings.Contains(msg, "tok-1") || !strings.Contains(msg, "u:(set)@mirror.example") {
			t.Errorf("quoting %s: %s", quoted, msg)
		}
		if !errors.Is(err, cause) {
			t.Errorf("quoting %s: the cause is lost", quoted)
		}
	}
	if err := prevoir.RedactError(cause, "https://mirror.example/r/x"); err != cause {
		t.Errorf("a URL without credentials changed the error: %v", err)
	}
	if prevoir.RedactError(nil, raw) != nil {
		t.Error("RedactError(nil) is not nil")
	}
}
