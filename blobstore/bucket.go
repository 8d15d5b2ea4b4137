package blobstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/prevoir/prevoir"
)

// CheckBucket checks that the bucket exists, so that a missing one is reported when a process
// starts rather than in the middle of a job. A missing bucket is created when create is set
// (S3 only: a local folder is created when opened, and a GCS bucket needs a project, which
// prevoir does not know); otherwise the ENOTFOUND error names the bucket and the command that
// creates it. Any other failure (the store unreachable, a permission the check needs but the
// work does not) is returned as is: the caller decides whether it may go on without knowing.
// created reports that the bucket was created.
func (s *Store) CheckBucket(ctx context.Context, create bool) (created bool, err error) {
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return false, fmt.Errorf("check artifact store %s: %w", s.url, err)
	}
	if ok {
		return false, nil
	}
	// The bucket's scheme and name (s3, my-bucket), from the URL without credentials; a local
	// folder, whose path need not parse, is there once opened and does not come here.
	u, err := url.Parse(s.url)
	if err != nil {
		u = &url.URL{}
	}
	var client *s3.Client
	if create && s.bucket.As(&client) {
		if err := createS3Bucket(ctx, client, u.Host); err != nil {
			return false, fmt.Errorf("artifact store %s: create bucket %s: %w", s.url, u.Host, err)
		}
		return true, nil
	}
	return false, prevoir.Errorf(prevoir.ENOTFOUND, "artifact store %s: bucket %s does not exist; create it with %s", s.url, u.Host, createCommand(u))
}

// createCommand is the shell command that creates the bucket at u.
func createCommand(u *url.URL) string {
	switch u.Scheme {
	case "s3":
		cmd := "aws s3 mb s3://" + u.Host
		// An S3-compatible server's, whose own credentials, if any, are left out.
		if endpoint := u.Query().Get("endpoint"); endpoint != "" {
			cmd += " --endpoint-url " + prevoir.RedactURL(endpoint)
		}
		return cmd
	case "gs":
		return "gcloud storage buckets create gs://" + u.Host
	}
	return "the object store's own tools"
}

// createS3Bucket creates a bucket in the client's region; one that appeared meanwhile (another
// process started at the same time) is as good.
func createS3Bucket(ctx context.Context, client *s3.Client, name string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	// us-east-1 is the default location and must not be named.
	if r := client.Options().Region; r != "" && r != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(r)}
	}
	_, err := client.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) || (err != nil && strings.Contains(err.Error(), "BucketAlreadyOwnedByYou")) {
		return nil
	}
	return err
}
