package scimstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Token is one valid bearer token of an endpoint, kept only as a SHA-256 hash.
type Token struct {
	// ID names where the token came from ("<secret>/<key>"); it is what audit
	// logs record, never the token itself.
	ID   string
	Hash [sha256.Size]byte
}

// TokenProblem says why a referenced Secret key gives no token. The message
// is the same for a Secret that does not exist, a missing key and a Secret
// without the opt-in label, so an endpoint's status tells nothing about
// Secrets that are not token Secrets.
type TokenProblem struct {
	// Ref is "<secret>/<key>".
	Ref string
	// Reason is one of the TokenProblem* constants.
	Reason string
}

// Reasons a referenced Secret key gives no token.
const (
	TokenNotOptedIn  = "NotFoundOrNotLabelled"
	TokenWhitespace  = "ContainsWhitespace"
	TokenTooWeak     = "TooWeak"
	minTokenBits     = 128
	minDistinctChars = 10
)

// LoadTokens reads the bearer tokens an endpoint references and returns their
// hashes, and the problems of the references that give none. Only Secrets
// labelled scim.scim-operator.io/token=true are read, so an endpoint cannot
// turn an arbitrary Secret into a credential. A value is trimmed of
// surrounding whitespace (a trailing newline from `echo` or a file); a token
// with whitespace inside, or under 128 bits of estimated entropy, is refused.
func LoadTokens(ctx context.Context, reader client.Reader, ep *scimv1.ScimEndpoint) ([]Token, []TokenProblem, error) {
	var tokens []Token
	var problems []TokenProblem
	for _, ref := range ep.Spec.TokenSecretRefs {
		id := ref.Name + "/" + ref.Key
		var s corev1.Secret
		err := reader.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: ref.Name}, &s)
		// Forbidden: the namespace is not one of the operator's Secret
		// namespaces. Like a missing Secret, that gives no token (and
		// drops a token loaded before), in the same words.
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return nil, nil, fmt.Errorf("getting token Secret %s/%s: %w", ep.Namespace, ref.Name, err)
		}
		value, ok := s.Data[ref.Key]
		if err != nil || !ok || s.Labels[scimv1.LabelTokenSecret] != "true" {
			problems = append(problems, TokenProblem{Ref: id, Reason: TokenNotOptedIn})
			continue
		}
		token := strings.TrimSpace(string(value))
		if reason := checkToken(token); reason != "" {
			problems = append(problems, TokenProblem{Ref: id, Reason: reason})
			continue
		}
		tokens = append(tokens, Token{ID: id, Hash: sha256.Sum256([]byte(token))})
	}
	return tokens, problems, nil
}

// checkToken returns why a token is refused, or "".
func checkToken(token string) string {
	if strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return TokenWhitespace
	}
	if TokenBits(token) < minTokenBits {
		return TokenTooWeak
	}
	return ""
}

// TokenBits estimates a token's entropy in bits as a random string would
// have it, over its shortest period (a repeated phrase counts once): the
// lesser of its length times log2 of the alphabet its character classes
// span (hex digits, decimal digits, lower case, upper case, other) and its
// length times the entropy of its character frequencies. Fewer than 10
// distinct characters count as 0: that is not random. 64 random hex
// characters (openssl rand -hex 32) give about 240 bits; 32 give 110 to 128
// depending on the draw, so use 32 random bytes.
func TokenBits(token string) float64 {
	token = token[:period(token)]
	counts := map[rune]int{}
	var lower, upper, digit, other, hexOnly = false, false, false, false, true
	for _, r := range token {
		counts[r]++
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z':
			lower = true
			hexOnly = hexOnly && r <= 'f'
		case r >= 'A' && r <= 'Z':
			upper = true
			hexOnly = hexOnly && r <= 'F'
		default:
			other = true
		}
	}
	if len(counts) < minDistinctChars {
		return 0
	}
	alphabet := 0
	switch {
	case !lower && !upper && !other:
		alphabet = 10
	case hexOnly && !other && !(lower && upper):
		alphabet = 16
	default:
		for _, c := range []struct {
			on bool
			n  int
		}{{digit, 10}, {lower, 26}, {upper, 26}, {other, 32}} {
			if c.on {
				alphabet += c.n
			}
		}
	}
	n := float64(utf8.RuneCountInString(token))
	return min(n*math.Log2(float64(alphabet)), n*shannon(counts, n))
}

// shannon is the entropy per character of n characters with these counts,
// with the Miller–Madow correction for a short sample: a string drawn from
// few characters, or dominated by some, scores low whatever its length.
func shannon(counts map[rune]int, n float64) float64 {
	h := 0.0
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h + float64(len(counts)-1)/(2*n*math.Ln2)
}

// period is the length of the shortest prefix p of s such that s repeats it
// (s[i] == s[i-p] for every i >= p): len(s) when s does not repeat itself.
func period(s string) int {
	if s == "" {
		return 0
	}
	fail := make([]int, len(s)) // KMP: longest proper prefix that is also a suffix
	for i, k := 1, 0; i < len(s); i++ {
		for k > 0 && s[i] != s[k] {
			k = fail[k-1]
		}
		if s[i] == s[k] {
			k++
		}
		fail[i] = k
	}
	return len(s) - fail[len(s)-1]
}
