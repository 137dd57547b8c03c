// Package conformance holds end-to-end conformance suites for the SCIM server:
// the requests Okta and Microsoft Entra ID really send, and the RFC 7643/7644
// behaviour and security properties the product brief requires. The suites
// run the whole operator against a real kube-apiserver and etcd, and assert
// on HTTP responses and on the stored ScimUser, ScimGroup and ScimMembership
// objects.
package conformance
