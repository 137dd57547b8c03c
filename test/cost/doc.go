// Package cost holds end-to-end tests of what one SCIM request costs: the
// API calls it makes and the memory it allocates must be bounded by the
// request's own size, never by the size of the directory. The SCIM server
// runs against the real API server with its live reader wrapped in a
// counter, so the tests see every read that bypasses the cache.
package cost
