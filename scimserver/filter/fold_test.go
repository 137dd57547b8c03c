package filter

import (
	"strings"
	"testing"
)

// foldWords are strings whose lower-casing is not byte-wise: non-ASCII with
// case, runes that lower-case to another length, invalid UTF-8, U+FFFD,
// and halves of them (runes cut).
var foldWords = func() []string {
	ws := []string{"", "a", "A", "ab", "AB", "aB", "b", "Ada Lovelace", "lovelace", "LOVE", "ve", "VE",
		"İstanbul", "i̇", "istanbul", "ß", "SS", "ẞ", "ǅ", "ǆ", "Σ", "σ", "ς", "K", "k", "Å", "å",
		"\xff", "a\xffb", "\xef\xbf\xbd", "A\xc3", "\xc3\xa9\xa9", "\U0010FFFF", "é", "É", "e\u0301"}
	for _, w := range ws[:len(ws):len(ws)] {
		ws = append(ws, w[:len(w)/2], w+"x", "X"+w)
	}
	return ws
}()

// TestFoldFunctionsAreToLower: each fold function answers as its
// strings.ToLower definition on every pair of foldWords.
func TestFoldFunctionsAreToLower(t *testing.T) {
	for _, a := range foldWords {
		for _, b := range foldWords {
			checkFold(t, a, b)
		}
	}
}

func checkFold(t *testing.T, a, b string) {
	t.Helper()
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if got, want := FoldCompare(a, b), strings.Compare(la, lb); got != want {
		t.Errorf("FoldCompare(%q, %q) = %d, want %d", a, b, got, want)
	}
	if got, want := foldHasPrefix(a, b), strings.HasPrefix(la, lb); got != want {
		t.Errorf("foldHasPrefix(%q, %q) = %v, want %v", a, b, got, want)
	}
	if got, want := foldHasSuffix(a, b), strings.HasSuffix(la, lb); got != want {
		t.Errorf("foldHasSuffix(%q, %q) = %v, want %v", a, b, got, want)
	}
	if got, want := foldContains(a, b), strings.Contains(la, lb); got != want {
		t.Errorf("foldContains(%q, %q) = %v, want %v", a, b, got, want)
	}
}

// FuzzFold: the fold functions answer as their definitions on any strings
// (make fuzz).
func FuzzFold(f *testing.F) {
	for i, a := range foldWords {
		f.Add(a, foldWords[(i*7)%len(foldWords)])
	}
	f.Fuzz(checkFold)
}
