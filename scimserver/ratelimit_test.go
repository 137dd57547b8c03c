package scimserver

import (
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func TestEndpointLimit(t *testing.T) {
	cases := []struct {
		reason           string
		rl               scimv1.RateLimit
		maxRPS, maxBurst int
		rps              float64
		burst            int
		clamped          bool
	}{
		{"unset fields take the defaults", scimv1.RateLimit{}, 0, 0, 50, 100, false},
		{"no clamp keeps what the endpoint asks", scimv1.RateLimit{RequestsPerSecond: 100000, Burst: 100000}, 0, 0, 100000, 100000, false},
		{"under the maximum is kept", scimv1.RateLimit{RequestsPerSecond: 25, Burst: 50}, 200, 400, 25, 50, false},
		{"over the maximum is clamped", scimv1.RateLimit{RequestsPerSecond: 100000, Burst: 100000}, 200, 400, 200, 400, true},
		{"only the burst over its maximum", scimv1.RateLimit{RequestsPerSecond: 10, Burst: 1000}, 200, 400, 10, 400, true},
		{"defaults are clamped too", scimv1.RateLimit{}, 20, 20, 20, 20, true},
		{"a zero maximum for one value leaves it alone", scimv1.RateLimit{RequestsPerSecond: 1000, Burst: 1000}, 0, 10, 1000, 10, true},
	}
	for _, c := range cases {
		rps, burst, clamped := endpointLimit(c.rl, c.maxRPS, c.maxBurst)
		if rps != c.rps || burst != c.burst || clamped != c.clamped {
			t.Errorf("%s: got (%v, %d, %v), want (%v, %d, %v)", c.reason, rps, burst, clamped, c.rps, c.burst, c.clamped)
		}
	}
}
