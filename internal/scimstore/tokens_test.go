package scimstore

import (
	"strings"
	"testing"
)

func TestCheckToken(t *testing.T) {
	for _, tc := range []struct {
		reason, token, want string
	}{
		{"openssl rand -hex 32", "3f1c9a0b7e2d4c6a8b5f1e0d9c7a3b2e4f6a8c0d1e3b5a7c9e2f4d6b8a0c1e3f", ""},
		{"sixteen random bytes in hex reach 128 bits when well mixed", "3f1c9a0b7e2d4c6a8b5f1e0d9c7a3b2e", ""},
		{"openssl rand -hex 24", "9e4b1c7a02f38d6e5a1b9c0d7e3f28a4c6b1d9e0f7a2c5b8", ""},
		{"a word repeated then digits", "passwordpassword1234567890", TokenTooWeak},
		{"one character dominating", strings.Repeat("a", 32) + "bcdefghijk", TokenTooWeak},
		{"openssl rand -base64 24", "q3Z1+Vw9k2Lr8XyT0bN5mC7dFh4sJ6gP", ""},
		{"sixteen hex characters are 64 bits", "3f1c9a0b7e2d4c6a", TokenTooWeak},
		{"a repeated character is not random however long", strings.Repeat("a", 200), TokenTooWeak},
		{"a few characters repeated are not random", strings.Repeat("abcdefgh", 20), TokenTooWeak},
		{"a password-like phrase is too short", "Summer2026!", TokenTooWeak},
		{"whitespace inside", "3f1c9a0b7e2d4c6a 8b5f1e0d9c7a3b2e4f6a8c0d1e3b5a7c", TokenWhitespace},
		{"a newline inside", "3f1c9a0b7e2d4c6a\n8b5f1e0d9c7a3b2e4f6a8c0d1e3b5a7c", TokenWhitespace},
		{"digits only need 39 of them", "8301746592047318562940173856201947365820", ""},
		{"a repeated phrase counts once", "Password123!Password123!", TokenTooWeak},
		{"a repeated digit run counts once", strings.Repeat("0123456789", 4), TokenTooWeak},
		{"a phrase repeated and cut short counts once", strings.Repeat("Zq8!vT2#pL", 5)[:47], TokenTooWeak},
	} {
		if got := checkToken(tc.token); got != tc.want {
			t.Errorf("%s: checkToken = %q (%.0f bits), want %q", tc.reason, got, TokenBits(tc.token), tc.want)
		}
	}
}
