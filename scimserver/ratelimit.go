package scimserver

import (
	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Defaults of a ScimEndpoint's spec.rateLimit when a field is unset (the
// CRD defaults them too; objects written before the default existed may not).
const (
	defaultEndpointRPS   = 50
	defaultEndpointBurst = 100
)

// endpointLimit is the token bucket an endpoint gets: its spec.rateLimit,
// defaulted, then lowered to the operator's maximum (maxRPS, maxBurst; 0 is
// no maximum). clamped reports whether the maximum lowered either value.
func endpointLimit(rl scimv1.RateLimit, maxRPS, maxBurst int) (rps float64, burst int, clamped bool) {
	rps, burst = float64(rl.RequestsPerSecond), int(rl.Burst)
	if rps <= 0 {
		rps = defaultEndpointRPS
	}
	if burst <= 0 {
		burst = defaultEndpointBurst
	}
	if maxRPS > 0 && rps > float64(maxRPS) {
		rps, clamped = float64(maxRPS), true
	}
	if maxBurst > 0 && burst > maxBurst {
		burst, clamped = maxBurst, true
	}
	return rps, burst, clamped
}
