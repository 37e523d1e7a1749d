package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Resource is a user as the SCIM side renders it.
type Resource struct {
	ID       string
	Attrs    map[string]any // without id, meta and schemas
	Created  time.Time
	Modified time.Time
	Version  int64
}

// ETag is the resource's weak entity tag (RFC 7232 §2.3), also its meta.version.
func (r Resource) ETag() string { return ETag(r.Version) }

// ETag formats a link version as a weak entity tag.
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ErrPrecondition is returned when an If-Match header names another version.
var ErrPrecondition = errors.New("provision: resource version does not match If-Match")

// Options configure a Service.
type Options struct {
	Target  string // for messages: "trainual"
	Store   store.Store
	Locker  store.Locker
	Adapter adapters.Adapter // already wrapped with adapters.Retrying
	Logger  *slog.Logger
	// ListTTL is how long a listing of every vendor user is reused for plain lists and unindexed filters.
	// Default 30s. Writes through the bridge update it at once.
	ListTTL time.Duration
}

// Service provisions SCIM users into one vendor. It holds the per-connection state; there is no global state.
type Service struct {
	target  string
	store   store.Store
	locker  store.Locker
	up      adapters.Adapter
	log     *slog.Logger
	listTTL time.Duration
	snap    snapshot
	ready   readiness
}

// New builds a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Locker == nil || o.Adapter == nil {
		return nil, errors.New("provision: Store, Locker and Adapter are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ListTTL <= 0 {
		o.ListTTL = 30 * time.Second
	}
	return &Service{target: o.Target, store: o.Store, locker: o.Locker, up: o.Adapter, log: o.Logger, listTTL: o.ListTTL}, nil
}

// Target names the vendor this service provisions into.
func (s *Service) Target() string { return s.target }

func userKey(userName string) string { return "user:" + strings.ToLower(userName) }
func idKey(id string) string         { return "id:" + id }

func (s *Service) lock(ctx context.Context, key string) (func(), error) {
	unlock, err := s.locker.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("provision: lock: %w", err)
	}
	return unlock, nil
}

func invalidValue(detail string) error {
	e := scimerrors.ScimErrorInvalidValue
	e.Detail = detail
	return e
}

func uniqueness(detail string) error {
	e := scimerrors.ScimErrorUniqueness
	e.Detail = detail
	return e
}

// clean removes what is never stored: attributes the server owns, and the password, which is write-only and
// not a thing the vendors take through these APIs.
func clean(res map[string]any) map[string]any {
	out := copyMap(res)
	for k := range out {
		switch strings.ToLower(k) {
		case "id", "meta", "schemas", "password", "groups":
			delete(out, k)
		}
	}
	return out
}

// Create provisions a new user. A userName already linked answers 409; a person who already exists in the vendor
// (made in its UI, or deactivated by an earlier SCIM DELETE) is linked and updated instead of duplicated.
func (s *Service) Create(ctx context.Context, attrs map[string]any) (Resource, error) {
	res := clean(attrs)
	userName := getString(res, "userName")
	if strings.TrimSpace(userName) == "" {
		return Resource{}, invalidValue("userName is required.")
	}
	unlock, err := s.lock(ctx, userKey(userName))
	if err != nil {
		return Resource{}, err
	}
	defer unlock()

	if links, err := s.store.Lookup(ctx, store.ByUserName, userName); err != nil {
		return Resource{}, err
	} else if len(links) > 0 {
		return Resource{}, uniqueness("A user with this userName already exists.")
	}

	want := desired(res)
	v, err := s.up.Create(ctx, want)
	if errors.Is(err, adapters.ErrConflict) {
		// The vendor already has this email: link that account rather than fail or duplicate it.
		existing, ferr := s.up.FindByEmail(ctx, want.Email)
		if ferr != nil {
			if errors.Is(ferr, adapters.ErrNotFound) {
				return Resource{}, err
			}
			return Resource{}, ferr
		}
		return s.adoptAndUpdate(ctx, existing, res)
	}
	if err != nil {
		return Resource{}, err
	}
	d := linkData{Resource: res, Seen: seenOf(v)}
	l, err := s.store.Create(ctx, store.Link{ID: v.ID, UserName: userName, ExternalID: getString(res, "externalId"),
		Email: workEmail(res), Extras: d.encode()})
	if errors.Is(err, store.ErrConflict) {
		// The vendor handed back an id we already know: a revived or re-created account.
		return s.adoptAndUpdate(ctx, v, res)
	}
	if err != nil {
		return Resource{}, err
	}
	s.snap.put(v)
	return resourceOf(l, d, v), nil
}

// adoptAndUpdate links an existing vendor account to the resource the IdP sent, reviving a tombstone if there is
// one, and pushes the resource's values to the vendor.
func (s *Service) adoptAndUpdate(ctx context.Context, v adapters.User, res map[string]any) (Resource, error) {
	unlock, err := s.lock(ctx, idKey(v.ID))
	if err != nil {
		return Resource{}, err
	}
	defer unlock()
	userName := getString(res, "userName")

	// What the IdP is taken to have seen: the vendor's values for a new link, the known resource for a known one.
	old := render(adopted(v), v)
	l, err := s.store.Get(ctx, v.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d := linkData{Resource: res, Seen: seenOf(v)}
		l, err = s.store.Create(ctx, store.Link{ID: v.ID, UserName: userName, ExternalID: getString(res, "externalId"),
			Email: workEmail(res), Extras: d.encode()})
		if err != nil {
			return Resource{}, err
		}
	case err != nil:
		return Resource{}, err
	case !l.Deleted && !strings.EqualFold(l.UserName, userName):
		return Resource{}, uniqueness("The vendor account with this email is linked to another userName.")
	default:
		old = render(decodeLinkData(l.Extras), v)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "linked existing vendor account", slog.String("id", v.ID))
	return s.write(ctx, l, v, old, res, true)
}

// write pushes what changed from old to res to the vendor and stores res as the IdP's copy.
func (s *Service) write(ctx context.Context, l store.Link, v adapters.User, old, res map[string]any, revive bool) (Resource, error) {
	ch := diff(v, old, res)
	if !ch.IsZero() {
		var err error
		if v, err = s.up.Update(ctx, l.ID, ch); err != nil {
			return Resource{}, err
		}
		s.snap.put(v)
	}
	d := linkData{Resource: res, Seen: seenOf(v)}
	nl, err := s.store.Update(ctx, l.ID, func(old store.Link) (store.Link, error) {
		old.UserName = getString(res, "userName")
		old.ExternalID = getString(res, "externalId")
		old.Email = workEmail(res)
		old.Extras = d.encode()
		if revive {
			old.Deleted = false
		}
		return old, nil
	})
	if errors.Is(err, store.ErrConflict) {
		return Resource{}, uniqueness("A user with this userName already exists.")
	}
	if err != nil {
		return Resource{}, err
	}
	return resourceOf(nl, d, v), nil
}

func resourceOf(l store.Link, d linkData, v adapters.User) Resource {
	r := Resource{ID: l.ID, Attrs: render(d, v), Created: v.Created, Modified: v.Updated, Version: l.Version}
	if r.Created.IsZero() {
		r.Created = l.Created
	}
	if r.Modified.IsZero() || l.Modified.After(r.Modified) {
		r.Modified = l.Modified
	}
	return r
}

func notFound(id string) error { return scimerrors.ScimErrorResourceNotFound(id) }

// current returns the live link of id and the vendor's fresh view, linking a vendor account no IdP has written
// yet (so that a PUT or PATCH on a user found by a list works).
func (s *Service) current(ctx context.Context, id string) (store.Link, adapters.User, error) {
	l, err := s.store.Get(ctx, id)
	if err == nil && l.Deleted {
		return store.Link{}, adapters.User{}, notFound(id)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Link{}, adapters.User{}, err
	}
	v, uerr := s.up.Get(ctx, id)
	if errors.Is(uerr, adapters.ErrNotFound) {
		return store.Link{}, adapters.User{}, notFound(id)
	}
	if uerr != nil {
		return store.Link{}, adapters.User{}, uerr
	}
	if err == nil {
		return l, v, nil
	}
	l, err = s.linkAdopted(ctx, v)
	if errors.Is(err, store.ErrConflict) {
		// Linked by a parallel request meanwhile, or its email is the userName of another link.
		if l, err = s.store.Get(ctx, id); err == nil && !l.Deleted {
			return l, v, nil
		}
		return store.Link{}, adapters.User{}, uniqueness("The vendor account's email is the userName of another user.")
	}
	return l, v, err
}

// linkAdopted records a link for a vendor account no IdP has written yet (made in the vendor's UI), its SCIM view
// taken from the vendor. store.ErrConflict when the id is linked already or its email is another link's userName.
func (s *Service) linkAdopted(ctx context.Context, v adapters.User) (store.Link, error) {
	l, err := s.store.Create(ctx, store.Link{ID: v.ID, UserName: v.Email, Email: v.Email, Extras: adopted(v).encode()})
	if err == nil {
		s.log.LogAttrs(ctx, slog.LevelInfo, "linked existing vendor account", slogID(v.ID))
	}
	return l, err
}

// Get returns one user with the vendor's current values.
func (s *Service) Get(ctx context.Context, id string) (Resource, error) {
	l, err := s.store.Get(ctx, id)
	if err == nil && l.Deleted {
		return Resource{}, notFound(id)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	v, uerr := s.up.Get(ctx, id)
	if errors.Is(uerr, adapters.ErrNotFound) {
		return Resource{}, notFound(id)
	}
	if uerr != nil {
		return Resource{}, uerr
	}
	if err != nil {
		// A vendor account no IdP has written: shown, not linked, until someone writes to it.
		d := adopted(v)
		return Resource{ID: v.ID, Attrs: render(d, v), Created: v.Created, Modified: v.Updated, Version: 0}, nil
	}
	return resourceOf(l, decodeLinkData(l.Extras), v), nil
}

func checkVersion(l store.Link, ifMatch string) error {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	want := ETag(l.Version)
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimSpace(t)
		// RFC 7232 §3.1 asks for a strong comparison, but our tags are weak by nature; compare the opaque part.
		if strings.TrimPrefix(t, "W/") == strings.TrimPrefix(want, "W/") {
			return nil
		}
	}
	return ErrPrecondition
}

// Replace applies a PUT: the IdP's copy becomes exactly attrs, and the vendor gets the fields that differ.
func (s *Service) Replace(ctx context.Context, id string, attrs map[string]any, ifMatch string) (Resource, error) {
	res := clean(attrs)
	return s.update(ctx, id, ifMatch, func(map[string]any) (map[string]any, error) { return res, nil })
}

// Update applies fn to the IdP's copy of the user (a PATCH) and pushes the result.
func (s *Service) Update(ctx context.Context, id, ifMatch string, fn func(cur map[string]any) (map[string]any, error)) (Resource, error) {
	return s.update(ctx, id, ifMatch, func(cur map[string]any) (map[string]any, error) {
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		return clean(next), nil
	})
}

func (s *Service) update(ctx context.Context, id, ifMatch string, fn func(cur map[string]any) (map[string]any, error)) (Resource, error) {
	unlock, err := s.lock(ctx, idKey(id))
	if err != nil {
		return Resource{}, err
	}
	defer unlock()
	l, v, err := s.current(ctx, id)
	if err != nil {
		return Resource{}, err
	}
	if err := checkVersion(l, ifMatch); err != nil {
		return Resource{}, err
	}
	d := decodeLinkData(l.Extras)
	cur := render(d, v)
	next, err := fn(cur)
	if err != nil {
		return Resource{}, err
	}
	userName := getString(next, "userName")
	if strings.TrimSpace(userName) == "" {
		return Resource{}, invalidValue("userName is required.")
	}
	if !strings.EqualFold(userName, l.UserName) {
		links, err := s.store.Lookup(ctx, store.ByUserName, userName)
		if err != nil {
			return Resource{}, err
		}
		for _, o := range links {
			if o.ID != id {
				return Resource{}, uniqueness("A user with this userName already exists.")
			}
		}
	}
	return s.write(ctx, l, v, cur, next, false)
}

// DeleteMode says what a SCIM DELETE does upstream.
func (s *Service) DeleteMode() string {
	if _, ok := s.up.(adapters.Deleter); ok {
		return "delete"
	}
	return "deactivate"
}

// Delete removes the user from the IdP's view. Upstream the account is deactivated (or, for an adapter that
// deletes, removed for good); the link stays as a tombstone so that a later create of the same person re-uses the
// vendor account instead of making a second one.
func (s *Service) Delete(ctx context.Context, id, ifMatch string) error {
	unlock, err := s.lock(ctx, idKey(id))
	if err != nil {
		return err
	}
	defer unlock()
	l, v, err := s.current(ctx, id)
	if err != nil {
		return err
	}
	if err := checkVersion(l, ifMatch); err != nil {
		return err
	}
	if del, ok := s.up.(adapters.Deleter); ok {
		if err := del.Delete(ctx, id); err != nil && !errors.Is(err, adapters.ErrNotFound) {
			return err
		}
		s.snap.remove(id)
		return s.store.Delete(ctx, id)
	}
	if v.Active {
		if v, err = s.up.Update(ctx, id, adapters.Change{Active: adapters.Ptr(false)}); err != nil {
			return err
		}
	}
	s.snap.put(v)
	d := decodeLinkData(l.Extras)
	d.Seen = seenOf(v)
	_, err = s.store.Update(ctx, id, func(old store.Link) (store.Link, error) {
		old.Deleted = true
		old.Extras = d.encode()
		return old, nil
	})
	return err
}

// readiness caches the upstream probe so that a load balancer polling /readyz does not become vendor traffic.
type readiness struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// Ready reports whether the store is open and the vendor answers. The vendor probe is cached for 30 seconds.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if time.Since(s.ready.at) < 30*time.Second {
		return s.ready.err
	}
	_, err := s.up.List(ctx, adapters.PageRequest{Number: 1, Size: 1})
	if adapters.KindOf(err) == adapters.KindNotFound {
		err = nil
	}
	s.ready.at, s.ready.err = time.Now(), err
	return err
}

func slogID(id string) slog.Attr { return slog.String("id", id) }
