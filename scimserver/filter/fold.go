package filter

import (
	"unicode"
	"unicode/utf8"
)

// Attributes that are not caseExact compare as strings.ToLower of each side
// would, without building the lower-cased copies: a listing compares every
// user, and a copy per user is what a filter on stored users must not cost.
// strings.ToLower maps each rune with unicode.ToLower (an invalid byte
// becoming U+FFFD), and UTF-8's byte order is its runes' order, so walking
// both strings rune by rune gives the same answers.

// lowerRune decodes the first rune of a non-empty s as strings.ToLower
// maps it.
func lowerRune(s string) (rune, int) {
	if c := s[0]; c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s)
	return unicode.ToLower(r), n
}

// FoldCompare is strings.Compare(strings.ToLower(a), strings.ToLower(b)),
// without the copies.
func FoldCompare(a, b string) int {
	for a != "" && b != "" {
		ra, na := lowerRune(a)
		rb, nb := lowerRune(b)
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// foldHasPrefix is strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix)).
func foldHasPrefix(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		rs, ns := lowerRune(s)
		rp, np := lowerRune(prefix)
		if rs != rp {
			return false
		}
		s, prefix = s[ns:], prefix[np:]
	}
	return true
}

// foldHasSuffix is strings.HasSuffix(strings.ToLower(s), strings.ToLower(suffix)):
// the lower-cased suffix starts at a rune of s.
func foldHasSuffix(s, suffix string) bool {
	for {
		if FoldCompare(s, suffix) == 0 {
			return true
		}
		if s == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(s)
		s = s[n:]
	}
}

// foldContains is strings.Contains(strings.ToLower(s), strings.ToLower(sub)).
func foldContains(s, sub string) bool {
	for {
		if foldHasPrefix(s, sub) {
			return true
		}
		if s == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(s)
		s = s[n:]
	}
}
