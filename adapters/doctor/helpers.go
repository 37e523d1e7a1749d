package doctor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// AbsentAddress is an e-mail address nobody has, for asking a vendor whether it filters by e-mail: an answer that
// lists anyone for it proves the filter is ignored, whatever the account holds.
func AbsentAddress() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "scim-bridge-doctor-" + hex.EncodeToString(b) + "@example.invalid"
}

// SwapCase turns every letter of s to the other case, so that a lookup can tell whether the vendor ignores case.
func SwapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsUpper(r):
			return unicode.ToLower(r)
		case unicode.IsLower(r):
			return unicode.ToUpper(r)
		}
		return r
	}, s)
}

// Pages is how many pages of size hold total users (at least 1).
func Pages(total, size int) int {
	if size <= 0 || total <= 0 {
		return 1
	}
	return (total + size - 1) / size
}

// CheckTestUser refuses a --write-test-user value that is not one plain e-mail address: the doctor will create a
// person with it, and the vendor will probably write to it.
func CheckTestUser(email string) error {
	local, domain, ok := strings.Cut(email, "@")
	switch {
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !strings.Contains(domain, "."):
		return fmt.Errorf("--write-test-user must be an e-mail address such as scim-doctor@example.com")
	case len(email) > 254 || strings.ContainsFunc(email, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return fmt.Errorf("--write-test-user must be an e-mail address without spaces")
	}
	return nil
}
