package adapters

import (
	"context"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/pace"
)

// Deps are what the process gives an adapter when it opens it.
type Deps struct {
	Logger *slog.Logger // already scoped with target=<name>
	HTTP   *http.Client // nil: the adapter's upstream.Client builds its own
	// Pacer spaces the calls to the vendor account (upstream.Options.Pacer); nil: none. The process shares one
	// between connections that reach the same account.
	Pacer *pace.Pacer
}

// Adapter provisions users in one vendor API. Implementations are safe for concurrent use and make exactly one
// vendor attempt per call (plus the reads an operation needs); retrying is the job of Retrying.
type Adapter interface {
	// Create makes a new upstream user and returns it as the vendor stored it.
	Create(ctx context.Context, u User) (User, error)
	// Get returns the user with the given upstream id, or an error of kind NotFound.
	Get(ctx context.Context, id string) (User, error)
	// FindByEmail returns the user whose email equals email, ignoring case, or an error of kind NotFound.
	FindByEmail(ctx context.Context, email string) (User, error)
	// Update changes exactly the fields set in ch and leaves every other upstream field as it was. ch.Active
	// deactivates or reactivates the user. It returns the user as the vendor now holds it.
	Update(ctx context.Context, id string, ch Change) (User, error)
	// List returns one page of users in the vendor's order.
	List(ctx context.Context, p PageRequest) (Page, error)
	// Attributes lists the optional SCIM attribute paths this adapter holds, as configured (Attr* constants or
	// any other path its settings map, such as name.middleName routed to a custom field). The bridge forwards
	// exactly these in User.Attrs and Change.Attrs, besides the e-mail, the names and the state.
	Attributes() []string
}

// Deleter is implemented by adapters whose vendor can delete a user for good (and are configured to).
type Deleter interface {
	Delete(ctx context.Context, id string) error
}

// Canonical names of the optional attributes an adapter may hold, as SCIM attribute paths. User.Attrs and
// Change.Attrs are keyed by these (or by any other SCIM path an adapter maps through configuration, such as an
// enterprise-extension attribute routed to a vendor custom field).
const (
	AttrTitle             = "title"
	AttrPreferredLanguage = "preferredLanguage"
	AttrLocale            = "locale"
	AttrExternalID        = "externalId"
	AttrRole              = "roles" // the primary role's value
	AttrDepartment        = EnterpriseURN + ":department"
	AttrEmployeeNumber    = EnterpriseURN + ":employeeNumber"
	AttrCostCenter        = EnterpriseURN + ":costCenter"
	AttrOrganization      = EnterpriseURN + ":organization"
	AttrDivision          = EnterpriseURN + ":division"

	// EnterpriseURN is the schema URN of the SCIM enterprise user extension (RFC 7643 §4.3).
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// User is a person as the bridge sees it on the vendor side.
type User struct {
	ID         string // upstream id as a string, whatever the vendor's type
	Email      string // SCIM userName
	GivenName  string
	FamilyName string
	Active     bool
	// Attrs holds the optional attributes this vendor keeps, keyed by SCIM path (Attr* constants). A key that is
	// present with "" means "the vendor holds this attribute and it is empty"; an absent key means "the vendor does
	// not hold it", so the bridge keeps the IdP's value itself.
	Attrs   map[string]string
	Created time.Time
	Updated time.Time
	// Partial is set on users from a vendor listing that does not carry every field (Trainual's list shows only
	// id, email and names): Active and Attrs are then unknown, not false and empty.
	Partial bool
	// Opaque is the adapter's own form of the user as it read it (for example the raw object a read-merge-write
	// needs). Callers never look inside; they hand it back through Change.Base.
	Opaque any
}

// Change lists fields to set; nil means "leave as is".
type Change struct {
	Email      *string
	GivenName  *string
	FamilyName *string
	Active     *bool
	// Attrs sets (non-nil) or clears (nil value) optional attributes by SCIM path. Keys the vendor does not hold
	// are ignored.
	Attrs map[string]*string
	// Base, when set, is the user as the caller read it from this adapter just now (under its own lock for the
	// user): the adapter may build its write from it instead of reading the user again, which saves a vendor call
	// per write. Retrying drops it when it tries again, since a failed attempt may have changed the user.
	Base *User
}

// IsZero reports whether the change sets nothing.
func (c Change) IsZero() bool {
	return c.Email == nil && c.GivenName == nil && c.FamilyName == nil && c.Active == nil && len(c.Attrs) == 0
}

// PageRequest asks for one page; Number counts from 1, Size 0 asks for the vendor's largest page.
type PageRequest struct {
	Number int
	Size   int
}

// Page is one page of a vendor listing.
type Page struct {
	Users []User
	Total int  // the vendor's total, -1 when unknown
	Last  bool // no page follows
}

// All walks every page of a's listing, stopping at the first error (yielded once, with a zero User).
func All(ctx context.Context, a Adapter) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		seen := 0
		for n := 1; ; n++ {
			p, err := a.List(ctx, PageRequest{Number: n})
			if err != nil {
				yield(User{}, err)
				return
			}
			for _, u := range p.Users {
				if !yield(u, nil) {
					return
				}
			}
			seen += len(p.Users)
			// Vendors document neither page sizes nor end markers reliably: stop on an explicit last page, an
			// empty page, or once the announced total is reached.
			if p.Last || len(p.Users) == 0 || (p.Total >= 0 && seen >= p.Total) {
				return
			}
		}
	}
}

// Ptr returns a pointer to v; convenient for building a Change.
func Ptr[T any](v T) *T { return &v }

// Setting describes one environment variable a target reads, so the process can offer it as a flag, resolve its
// _FILE twin and list it in its help and docs.
type Setting struct {
	Env     string // SCIM_BRIDGE_...
	Default string
	Usage   string
	Secret  bool // may come from <Env>_FILE; never printed
}
