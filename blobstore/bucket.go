package blobstore

import (
	"context"
	"errors"
	"fmt"
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
	var client *s3.Client
	if create && s.bucket.As(&client) {
		if err := createS3Bucket(ctx, client, s.name); err != nil {
			return false, fmt.Errorf("artifact store %s: create bucket %s: %w", s.url, s.name, err)
		}
		return true, nil
	}
	return false, prevoir.Errorf(prevoir.ENOTFOUND, "artifact store %s: bucket %s does not exist; create it with %s", s.url, s.name, s.createCommand())
}

// createCommand is the shell command that creates the bucket.
func (s *Store) createCommand() string {
	switch s.scheme {
	case "s3":
		cmd := "aws s3 mb s3://" + s.name
		if s.endpoint != "" {
			cmd += " --endpoint-url " + s.endpoint
		}
		return cmd
	case "gs":
		return "gcloud storage buckets create gs://" + s.name
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
