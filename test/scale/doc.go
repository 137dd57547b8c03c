// Package scale holds the SCIM server's concurrency tests, its 100,000-member
// group test and its throughput and latency benchmarks. Everything runs the
// whole operator against a real kube-apiserver and etcd on loopback.
//
//	go test ./test/scale                                  # concurrency tests
//	SCIM_SCALE=1 go test -run TestScale -v ./test/scale   # the large group (make test-scale)
//	go test -run '^$' -bench . ./test/scale               # benchmarks (also in make bench)
package scale
