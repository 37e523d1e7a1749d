package upstreamtest

// UI is what an admin does in the vendor's own web UI, behind the bridge's back: tests use it to prove that the
// bridge treats the vendor as the truth and never clears what the IdP did not write.
type UI interface {
	// RemoveInUI deletes the account for good, as an admin deleting a person in the vendor's UI; false if none.
	RemoveInUI(id string) bool
	// SetInUI sets one field of the account by SCIM path (userName, name.givenName, name.familyName, active
	// ("true"/"false"), or any attribute path the emulator's Seed accepts); false if there is no such account.
	SetInUI(id, path, value string) bool
}
