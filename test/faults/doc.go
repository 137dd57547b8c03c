// Package faults is the fault suite of issue 8: a corpus of hostile requests,
// token rotation while traffic flows, and a kube-apiserver outage during SCIM
// traffic, each against a real API server (envtest) and the real operator.
//
// Every loop is bounded in count and time; the suite talks only to loopback.
package faults
