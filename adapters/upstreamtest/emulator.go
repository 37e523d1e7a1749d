package upstreamtest

import (
	"net/http"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// Op is a logical vendor operation, as an emulator classifies the requests it receives.
type Op string

// The operations every emulator recognises.
const (
	OpCreate Op = "create"
	OpGet    Op = "get"
	OpList   Op = "list" // a page of the listing
	OpFind   Op = "find" // a lookup by email
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Emulator is the control surface of a vendor emulator, shared by the adapter conformance suite, the end-to-end
// tests and the sandbox.
type Emulator interface {
	http.Handler
	// Seed stores users directly (bypassing the API, as if made in the vendor's own UI) and returns their ids.
	Seed(users ...adapters.User) []string
	// User returns the emulator's own view of a user, bypassing the adapter.
	User(id string) (adapters.User, bool)
	// Users returns how many accounts exist (active or not).
	Users() int
	// Fail makes the next `times` requests of op answer status without being applied. A negative times means
	// "until Reset". retryAfter, when positive, is sent as a Retry-After header.
	Fail(op Op, status, times int, retryAfter time.Duration)
	// DropResponse applies the next request of op and then cuts the connection before answering.
	DropResponse(op Op)
	// SetLatency delays every answer.
	SetLatency(d time.Duration)
	// SetRateLimit answers 429 (without Retry-After, as the vendors document none) beyond rps requests per second;
	// 0 turns it off.
	SetRateLimit(rps int)
	// SetSeatLimit makes creates beyond n active accounts fail the way the vendor reports a full plan; 0 = no limit.
	SetSeatLimit(n int)
	// Calls counts the requests of op received, failed ones included.
	Calls(op Op) int
	// Log returns the latest requests received (up to DefaultLogLimit of them), oldest first, credentials removed;
	// Calls keeps counting every request.
	Log() []Call
	// Reset clears injected faults and counters, keeping users.
	Reset()
	// MaxPageSize is the largest page the emulator serves.
	MaxPageSize() int
}

// Call is one request an emulator received.
type Call struct {
	Op     Op
	Method string
	Path   string // without the query
	Query  string // with any apiKey parameter removed
	Body   []byte
}
