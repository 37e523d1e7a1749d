package trainual

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// adapter is the raw Trainual adapter: one vendor write per operation plus the reads Trainual's short answers and
// unconfirmed semantics make necessary. It does not implement adapters.Deleter: Trainual's DELETE deactivates.
type adapter struct {
	c        *upstream.Client
	log      *slog.Logger
	inactive inactiveCreate
}

// Error-text operation names, prefixed with "trainual: " by the client.
const (
	opCreate     = "create user"
	opGet        = "get user"
	opFind       = "find user"
	opUpdate     = "update user"
	opReactivate = "reactivate user"
	opDeactivate = "deactivate user"
	opList       = "list users"
)

// maxFindPages bounds FindByEmail's walk when Trainual ignores the email parameter and announces no total.
const maxFindPages = 10000

// Get implements adapters.Adapter.
func (a *adapter) Get(ctx context.Context, id string) (adapters.User, error) {
	n, ok := parseID(id)
	if !ok {
		return adapters.User{}, adapters.Errorf(adapters.KindNotFound, "trainual: "+opGet, "id is not a Trainual user id")
	}
	tu, err := a.get(ctx, n, opGet)
	if err != nil {
		return adapters.User{}, err
	}
	return tu.toUser(true), nil
}

// Create implements adapters.Adapter. Trainual answers a create with id, email and status only, so the user is read
// back. The new account is "invited" (Trainual sends the invitation email and a seat is consumed), which counts as
// active; u.Active is not applied here: the bridge deactivates a person created inactive at once with an Update,
// unless SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE=refuse, which refuses before anything is sent.
func (a *adapter) Create(ctx context.Context, u adapters.User) (adapters.User, error) {
	email := strings.TrimSpace(u.Email)
	if email == "" {
		return adapters.User{}, &adapters.Error{Kind: adapters.KindRejected, Op: "trainual: " + opCreate,
			Detail: "email is required", Err: errors.New("email is required")}
	}
	if !u.Active && a.inactive == inactiveRefuse {
		const why = "creating a deactivated user would send a Trainual invitation, and " + envInactive + "=refuse"
		return adapters.User{}, &adapters.Error{Kind: adapters.KindRejected, Op: "trainual: " + opCreate, Detail: why,
			Err: errors.New(why)}
	}
	body := createBody{
		Email:      email,
		FirstName:  u.GivenName,
		LastName:   u.FamilyName,
		Title:      u.Attrs[adapters.AttrTitle],
		Department: u.Attrs[adapters.AttrDepartment],
		Role:       u.Attrs[adapters.AttrRole],
	}
	var env userEnvelope
	if err := a.c.Do(ctx, upstream.Request{Op: opCreate, Method: http.MethodPost, Path: pathUsers, Body: body}, &env); err != nil {
		return adapters.User{}, err
	}
	if env.User == nil || env.User.ID <= 0 {
		// The account probably exists: say so, so that nobody sends the create again without looking first.
		return adapters.User{}, &adapters.Error{Kind: adapters.KindInternal, Op: "trainual: " + opCreate, Ambiguous: true,
			Err: errors.New("POST /users: answer holds no user id")}
	}
	id := int64(env.User.ID)
	tu, err := a.get(ctx, id, opCreate+": read back")
	if err != nil {
		return adapters.User{}, createdButUnread(id, err)
	}
	return tu.toUser(true), nil
}

// createdButUnread turns a failed read-back into an ambiguous, retryable failure of the create: the account exists,
// so Retrying must find it by email instead of posting again (which would answer "already taken").
func createdButUnread(id int64, err error) error {
	e := &adapters.Error{Kind: adapters.KindUnavailable, Op: "trainual: " + opCreate, Ambiguous: true,
		Err: fmt.Errorf("user %d was created but reading it back failed: %w", id, err)}
	if prev, ok := errors.AsType[*adapters.Error](err); ok {
		e.Status, e.RetryAfter = prev.Status, prev.RetryAfter
		// A just-created user answering 404 is read-after-write lag, hence transient: keep Unavailable then.
		if prev.Kind != adapters.KindNotFound {
			e.Kind = prev.Kind
		}
	}
	return e
}

// Update implements adapters.Adapter. Fields go out in one PATCH holding only the fields ch sets. Deactivation is
// DELETE confirmed by a GET; reactivation is a PATCH of status (an assumption, see doc.go). Both are done only when
// the current status differs, which needs a read first: PATCHing "active" onto an invited user would skip the
// invitation, and a second DELETE of a deactivated user might do something unconfirmed. Edits are made while the
// account is active (before a deactivation, after a reactivation), in case Trainual refuses to edit deactivated
// users. Every step sets an absolute value, so repeating the whole Update after a partial failure is harmless.
func (a *adapter) Update(ctx context.Context, id string, ch adapters.Change) (adapters.User, error) {
	n, ok := parseID(id)
	if !ok {
		return adapters.User{}, adapters.Errorf(adapters.KindNotFound, "trainual: "+opUpdate, "id is not a Trainual user id")
	}
	fields, hasFields := patchBody(ch)
	patchFields := func() error {
		if !hasFields {
			return nil
		}
		return a.c.Do(ctx, upstream.Request{Op: opUpdate, Method: http.MethodPatch, Path: pathUser(n), Body: fields}, nil)
	}

	if ch.Active == nil {
		if err := patchFields(); err != nil {
			return adapters.User{}, err
		}
		return a.readBack(ctx, n, opUpdate)
	}

	var deactivated bool
	var cur trainualUser
	if ch.Base != nil && ch.Base.ID == id && !ch.Base.Partial {
		// The caller read the user just now: its state decides, without a second GET.
		deactivated = !ch.Base.Active
	} else {
		var err error
		if cur, err = a.get(ctx, n, opUpdate+": read"); err != nil {
			return adapters.User{}, err
		}
		deactivated = cur.isDeactivated()
	}
	switch {
	case *ch.Active && deactivated:
		if err := a.c.Do(ctx, upstream.Request{Op: opReactivate, Method: http.MethodPatch, Path: pathUser(n),
			Body: statusBody(statusActive)}, nil); err != nil {
			return adapters.User{}, err
		}
		if err := patchFields(); err != nil {
			return adapters.User{}, err
		}
		tu, err := a.get(ctx, n, opReactivate+": read back")
		if err != nil {
			return adapters.User{}, err
		}
		if tu.isDeactivated() {
			// Rails drops unpermitted parameters silently: a 200 does not prove that status was accepted.
			a.log.WarnContext(ctx, "trainual kept the user deactivated after PATCH status=active; reactivate in Trainual's UI",
				slog.Int64("trainual_id", n))
			return adapters.User{}, adapters.Errorf(adapters.KindInternal, "trainual: "+opReactivate,
				"user %d is still deactivated after PATCH status=%s: Trainual does not accept reactivation through the API", n, statusActive)
		}
		return tu.toUser(true), nil

	case !*ch.Active && !deactivated:
		if err := patchFields(); err != nil {
			return adapters.User{}, err
		}
		return a.deactivate(ctx, n)

	default: // already in the requested state
		if err := patchFields(); err != nil {
			return adapters.User{}, err
		}
		if !hasFields {
			if ch.Base != nil && ch.Base.ID == id && !ch.Base.Partial {
				return *ch.Base, nil
			}
			return cur.toUser(true), nil
		}
		return a.readBack(ctx, n, opUpdate)
	}
}

// deactivate sends DELETE and confirms with GET, as the seed recommends, because it is unconfirmed whether
// Trainual's DELETE deactivates or deletes.
func (a *adapter) deactivate(ctx context.Context, n int64) (adapters.User, error) {
	if err := a.c.Do(ctx, upstream.Request{Op: opDeactivate, Method: http.MethodDelete, Path: pathUser(n)}, nil); err != nil {
		return adapters.User{}, err
	}
	tu, err := a.get(ctx, n, opDeactivate+": confirm")
	switch {
	case errors.Is(err, adapters.ErrNotFound):
		a.log.WarnContext(ctx, "trainual deleted the user on DELETE instead of deactivating it", slog.Int64("trainual_id", n))
		return adapters.User{}, adapters.Errorf(adapters.KindNotFound, "trainual: "+opDeactivate,
			"user %d no longer exists after DELETE: Trainual hard-deleted it instead of deactivating it", n)
	case err != nil:
		return adapters.User{}, err
	case !tu.isDeactivated():
		a.log.WarnContext(ctx, "trainual answered DELETE but the user is not deactivated", slog.Int64("trainual_id", n))
		return adapters.User{}, adapters.Errorf(adapters.KindInternal, "trainual: "+opDeactivate,
			"user %d is not deactivated after DELETE", n)
	}
	return tu.toUser(true), nil
}

// FindByEmail implements adapters.Adapter. It asks Trainual to filter by email but trusts only its own
// case-insensitive match, and walks on while the vendor announces more users than it has shown: correct when the
// parameter is ignored, one call when it is honoured. The match is read back because list items may be partial.
func (a *adapter) FindByEmail(ctx context.Context, email string) (adapters.User, error) {
	want := strings.TrimSpace(email)
	if want == "" {
		return adapters.User{}, adapters.Errorf(adapters.KindNotFound, "trainual: "+opFind, "empty email")
	}
	seen := 0
	for page := 1; page <= maxFindPages; page++ {
		env, err := a.list(ctx, page, want, opFind)
		if err != nil {
			return adapters.User{}, err
		}
		users := *env.Users
		for _, tu := range users {
			if strings.EqualFold(strings.TrimSpace(tu.Email.v), want) {
				if tu.complete() {
					// The listing carries the whole user: one call is enough.
					return tu.toUser(true), nil
				}
				full, err := a.get(ctx, int64(tu.ID), opFind+": read")
				if err != nil {
					return adapters.User{}, err
				}
				return full.toUser(true), nil
			}
		}
		seen += len(users)
		if len(users) == 0 || (env.Meta.Total != nil && seen >= *env.Meta.Total) || pageMismatch(env, page) {
			return adapters.User{}, adapters.Errorf(adapters.KindNotFound, "trainual: "+opFind, "no user has this email")
		}
	}
	return adapters.User{}, adapters.Errorf(adapters.KindInternal, "trainual: "+opFind, "gave up after %d pages", maxFindPages)
}

// List implements adapters.Adapter. Trainual documents no page size, so p.Size is ignored and the vendor's page is
// returned as it comes. A page is known to be the last when it is empty, or when page number times its length
// reaches the total (never true early if pages before it were of the same size); otherwise the caller asks for the
// next page, and adapters.All also stops on the total.
func (a *adapter) List(ctx context.Context, p adapters.PageRequest) (adapters.Page, error) {
	n := max(p.Number, 1)
	env, err := a.list(ctx, n, "", opList)
	if err != nil {
		return adapters.Page{}, err
	}
	if pageMismatch(env, n) {
		// A vendor that clamps a page past the end to the last one would repeat users already listed.
		return adapters.Page{Total: total(env), Last: true}, nil
	}
	users := *env.Users
	out := adapters.Page{Users: make([]adapters.User, 0, len(users)), Total: total(env)}
	for _, tu := range users {
		out.Users = append(out.Users, tu.toUser(false))
	}
	out.Last = len(users) == 0 || (out.Total >= 0 && n*len(users) >= out.Total)
	return out, nil
}

func total(env listEnvelope) int {
	if env.Meta.Total == nil {
		return -1
	}
	return *env.Meta.Total
}

// pageMismatch reports whether Trainual answered another page than the one asked for.
func pageMismatch(env listEnvelope, page int) bool {
	return env.Meta.Page != nil && *env.Meta.Page != page
}

func (a *adapter) list(ctx context.Context, page int, email, op string) (listEnvelope, error) {
	q := url.Values{paramPage: {strconv.Itoa(page)}}
	if email != "" {
		q.Set(paramEmail, email)
	}
	var env listEnvelope
	if err := a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodGet, Path: pathUsers, Query: q}, &env); err != nil {
		return listEnvelope{}, err
	}
	if env.Users == nil {
		return listEnvelope{}, adapters.Errorf(adapters.KindInternal, "trainual: "+op, "GET %s: answer holds no %q list", pathUsers, "users")
	}
	for _, tu := range *env.Users {
		if tu.ID <= 0 {
			return listEnvelope{}, adapters.Errorf(adapters.KindInternal, "trainual: "+op, "GET %s: a listed user has no id", pathUsers)
		}
	}
	return env, nil
}

func (a *adapter) get(ctx context.Context, n int64, op string) (trainualUser, error) {
	var env userEnvelope
	if err := a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodGet, Path: pathUser(n)}, &env); err != nil {
		return trainualUser{}, err
	}
	if env.User == nil || int64(env.User.ID) != n {
		return trainualUser{}, adapters.Errorf(adapters.KindInternal, "trainual: "+op, "GET /users/%d: answer holds another or no user", n)
	}
	return *env.User, nil
}

func (a *adapter) readBack(ctx context.Context, n int64, op string) (adapters.User, error) {
	tu, err := a.get(ctx, n, op+": read back")
	if err != nil {
		return adapters.User{}, err
	}
	return tu.toUser(true), nil
}

// Interface guards. Trainual's DELETE deactivates, so there is no Deleter.
var _ adapters.Adapter = (*adapter)(nil)

// Attributes implements adapters.Adapter.
func (a *adapter) Attributes() []string { return append([]string(nil), attributePaths...) }
