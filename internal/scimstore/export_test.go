package scimstore

// BucketOf exposes the bucket of a value in a bucketed index to the tests
// of package scimstore_test.
var BucketOf = bucketOf
