package main

// Artifact store drivers beyond the local folder: linking them here, in the binary only, lets
// --artifacts take s3:// and gs:// URLs while the library packages stay light.
import (
	_ "gocloud.dev/blob/gcsblob" // gs://bucket
	_ "gocloud.dev/blob/s3blob"  // s3://bucket (AWS, or any S3-compatible server via endpoint=)
)
