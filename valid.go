package tracklink

import (
	"strings"
	"unicode/utf8"
)

// ValidEvent reports whether s is an event slug: 1 to 64 bytes of
// lowercase letters, digits and hyphens.
func ValidEvent(s string) bool {
	if s == "" || len(s) > MaxEventLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// SessionLen is the length of a session reference: 128 bits in unpadded
// URL-safe base64.
const SessionLen = 22

// ValidSession reports whether s has the shape of a session reference.
func ValidSession(s string) bool {
	if len(s) != SessionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !codeByte(s[i]) {
			return false
		}
	}
	return true
}

// NormalizePromoter returns the lowercase promoter code and true when s is
// a valid code: 1 to 64 bytes of [A-Za-z0-9_-]. Codes are case-insensitive.
func NormalizePromoter(s string) (string, bool) {
	if s == "" || len(s) > MaxPromoterLen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !codeByte(s[i]) {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

func codeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func validCurrency(s string) bool {
	return len(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z'
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Limits on registry names.
const (
	MaxGroupLen  = 64 // bytes of a group name
	MaxLinkIDLen = 32 // bytes of a campaign link id
)

// NormalizeGroup trims a group name and reports whether it is valid: 1 to
// MaxGroupLen bytes of UTF-8 text without control characters.
func NormalizeGroup(g string) (string, bool) {
	g = strings.TrimSpace(g)
	if g == "" || len(g) > MaxGroupLen || !utf8.ValidString(g) ||
		strings.ContainsFunc(g, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false
	}
	return g, true
}

// ValidPromoCode reports whether s can be a checkout promo code: 1 to
// MaxPromoterLen bytes of printable ASCII without spaces.
func ValidPromoCode(s string) bool {
	return s != "" && len(s) <= MaxPromoterLen && printable(s)
}

// ValidLinkID reports whether s is a campaign link id: 1 to MaxLinkIDLen
// bytes of [A-Za-z0-9_-], safe in a URL path and a store key.
func ValidLinkID(s string) bool {
	if s == "" || len(s) > MaxLinkIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !codeByte(s[i]) {
			return false
		}
	}
	return true
}
