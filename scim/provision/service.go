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
	// EmailFrom says where the vendor e-mail comes from; default EmailFromUserName.
	EmailFrom EmailFrom
	// DeriveNames fills names the IdP did not send, for the vendor only (see deriveNames).
	DeriveNames bool
	// Ignored, when set, is called with the SCIM path of every attribute a vendor silently did not store (for a
	// metric). It is never given a value.
	Ignored func(attribute string)
	// Groups keeps SCIM groups; nil turns /Groups off (a Users-only deployment).
	Groups store.GroupStore
	// GroupRules and GroupLinks say what a group does in the vendor (see ParseGroupRules, ParseGroupLinks).
	GroupRules GroupRules
	GroupLinks []GroupLink
	// Audit receives one event per provisioning action; nil keeps no trail.
	Audit store.AuditLog
	// Guard and GuardPolicy are the mass-deprovisioning guard; a nil Guard or an off policy turns it off. Counter
	// sizes a threshold given as a share of the users.
	Guard       store.Guard
	GuardPolicy GuardPolicy
	Counter     store.LinkCounter
	// Hooks are told about guard events (for metrics).
	Hooks Hooks
}

// Hooks are optional callbacks for metrics.
type Hooks struct {
	GuardTripped func() // the guard started holding
	GuardHeld    func() // a deactivation or deletion was held
}

// Service provisions SCIM users into one vendor. It holds the per-connection state; there is no global state.
type Service struct {
	target  string
	store   store.Store
	locker  store.Locker
	up      adapters.Adapter
	log     *slog.Logger
	listTTL time.Duration
	m       mapper
	ignored func(string)
	snap    snapshot
	ready   readiness

	groups     store.GroupStore
	rules      GroupRules
	groupLinks []GroupLink

	audit       store.AuditLog
	guard       store.Guard
	guardPolicy GuardPolicy
	counter     store.LinkCounter
	hooks       Hooks
	gs          guardState
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
	if o.EmailFrom == "" {
		o.EmailFrom = EmailFromUserName
	}
	if o.Ignored == nil {
		o.Ignored = func(string) {}
	}
	m := mapper{paths: o.Adapter.Attributes(), emailFrom: o.EmailFrom, deriveNames: o.DeriveNames}
	return &Service{target: o.Target, store: o.Store, locker: o.Locker, up: o.Adapter, log: o.Logger, listTTL: o.ListTTL,
		m: m, ignored: o.Ignored, groups: o.Groups, rules: o.GroupRules, groupLinks: o.GroupLinks,
		audit: o.Audit, guard: o.Guard, guardPolicy: o.GuardPolicy, counter: o.Counter, hooks: o.Hooks}, nil
}

// Target names the vendor this service provisions into.
func (s *Service) Target() string { return s.target }

func userKey(userName string) string { return "user:" + store.Fold(userName) }
func idKey(id string) string         { return "id:" + id }

// lock takes one key. Keys are always taken in the order user:, then id:, so that a create (which learns the
// vendor id only after its userName is locked) and a rename (which learns the new userName only after its id is
// locked, and so starts over) can never wait on each other.
func (s *Service) lock(ctx context.Context, key string) (func(), error) {
	unlock, err := s.locker.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("provision: lock: %w", err)
	}
	return unlock, nil
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

// Create provisions a new user. A userName linked to a live vendor account answers 409; a person who already
// exists in the vendor (made in its UI, deactivated by an earlier SCIM DELETE, or created by an earlier attempt
// whose answer was lost) is linked and brought to the state the IdP asked for, never duplicated.
func (s *Service) Create(ctx context.Context, attrs map[string]any) (Resource, error) {
	res := clean(attrs)
	userName := getString(res, pathUserName)
	if strings.TrimSpace(userName) == "" {
		return Resource{}, invalidValue("userName is required.")
	}
	unlock, err := s.lock(ctx, userKey(userName))
	if err != nil {
		return Resource{}, err
	}
	defer unlock()
	if err := s.claimUserName(ctx, userName, ""); err != nil {
		return Resource{}, err
	}

	want := s.m.desired(res, true)
	if strings.TrimSpace(want.Email) == "" {
		return Resource{}, invalidValue("The user has no " + string(s.m.emailFrom) +
			" e-mail, which SCIM_BRIDGE_EMAIL_FROM makes the vendor login: map one in the IdP.")
	}
	v, err := s.up.Create(ctx, want)
	linked := false
	if errors.Is(err, adapters.ErrConflict) {
		// The vendor already has this e-mail: link that account rather than fail or duplicate it.
		existing, ferr := s.up.FindByEmail(ctx, want.Email)
		if ferr != nil {
			if errors.Is(ferr, adapters.ErrNotFound) {
				return Resource{}, err
			}
			return Resource{}, ferr
		}
		v, err = existing, nil
		linked = true
	}
	if err != nil {
		s.record(ctx, OpCreate, "", userName, nil, err)
		return Resource{}, err
	}
	derived := s.m.deriveNames && (!hasValue(res, pathGivenName) || !hasValue(res, pathFamilyName))
	return s.adopt(ctx, v, res, derived, linked)
}

// claimUserName makes sure no live link other than exceptID holds userName. A link whose vendor account is gone
// (deleted in the vendor's UI) is retired on the way, so that the person can be provisioned again. The caller
// holds userName's lock.
func (s *Service) claimUserName(ctx context.Context, userName, exceptID string) error {
	links, err := s.store.Lookup(ctx, store.ByUserName, userName)
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.ID == exceptID {
			continue
		}
		// The vendor is the truth about whether that account still exists.
		_, err := s.up.Get(ctx, l.ID)
		switch {
		case errors.Is(err, adapters.ErrNotFound):
			s.retire(ctx, l.ID)
			continue
		case err != nil:
			return err
		}
		return uniqueness("A user with this userName already exists.")
	}
	return nil
}

// adopt links the vendor account v, which a create ended at, to the resource the IdP sent, and applies the
// IdP's whole desired state to it: a create may have ended at an existing account (the vendor refused a duplicate
// e-mail, or a retried create found its first attempt) or at one the vendor made with defaults it was not given
// (Trainual invites everyone as active). A live link means another SCIM user owns the account: 409.
func (s *Service) adopt(ctx context.Context, v adapters.User, res map[string]any, derived, linked bool) (Resource, error) {
	unlock, err := s.lock(ctx, idKey(v.ID))
	if err != nil {
		return Resource{}, err
	}
	defer unlock()
	l, err := s.store.Get(ctx, v.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Resource{}, err
	}
	known := err == nil
	var prior linkData
	if known {
		prior = decodeLinkData(l.Extras)
		// A live link no IdP has written (a lookup by e-mail linked it) is this person's account: take it over.
		if !l.Deleted && !prior.unclaimed() {
			return Resource{}, uniqueness("The vendor account with this e-mail belongs to another user.")
		}
	}
	rules, err := s.ruleValues(ctx, v.ID, idpSends(res, nil, writeWhole, nil), prior)
	if err != nil {
		return Resource{}, err
	}
	ch, owned := s.m.plan(v, res, ownership{}, writeWhole, nil, rules)
	op := OpCreate
	if linked || known {
		op = OpLink
	}
	if v, err = s.push(ctx, v, ch); err != nil {
		s.record(ctx, op, v.ID, getString(res, pathUserName), changedNames(ch), err)
		return Resource{}, err
	}
	s.record(ctx, op, v.ID, getString(res, pathUserName), changedNames(ch), nil)
	d := linkData{Resource: res, Seen: seenOf(v), Derived: derived, RuleOwned: ruleOwned(rules)}
	d.setOwnership(owned)
	userName := getString(res, pathUserName)
	if !known {
		l, err = s.store.Create(ctx, store.Link{ID: v.ID, UserName: userName, ExternalID: getString(res, "externalId"),
			Email: workEmail(res), Extras: d.encode()})
	} else {
		s.log.LogAttrs(ctx, slog.LevelInfo, "linked a known vendor account to the IdP's user", slogID(v.ID),
			slog.Bool("was_deleted", l.Deleted))
		l, err = s.store.Update(ctx, v.ID, func(old store.Link) (store.Link, error) {
			old.UserName, old.ExternalID, old.Email = userName, getString(res, "externalId"), workEmail(res)
			old.Extras, old.Deleted = d.encode(), false
			return old, nil
		})
	}
	if errors.Is(err, store.ErrConflict) {
		return Resource{}, uniqueness("A user with this userName already exists.")
	}
	if err != nil {
		return Resource{}, err
	}
	s.snap.put(v)
	return s.resourceOf(l, d, v), nil
}

// push sends ch to the vendor and returns the user as the vendor now holds it, noting every field the vendor
// silently did not store.
func (s *Service) push(ctx context.Context, v adapters.User, ch adapters.Change) (adapters.User, error) {
	if ch.IsZero() {
		return v, nil
	}
	if !v.Partial {
		// v was read from the vendor in this request, under the user's lock: the adapter need not read it again.
		ch.Base = &v
	}
	got, err := s.up.Update(ctx, v.ID, ch)
	if err != nil {
		return adapters.User{}, err
	}
	for _, attr := range ignored(ch, got) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "the vendor did not store an attribute it was sent", slogID(v.ID),
			slog.String("attribute", attr))
		s.ignored(attr)
	}
	s.snap.put(got)
	return got, nil
}

// retire marks the link of a vendor account that no longer exists: lookups stop returning it and a later create
// makes a new account. It is kept as a tombstone for the record.
func (s *Service) retire(ctx context.Context, id string) {
	s.snap.remove(id)
	_, err := s.store.Update(ctx, id, func(l store.Link) (store.Link, error) {
		if l.Deleted {
			return l, errAlreadyRetired
		}
		d := decodeLinkData(l.Extras)
		d.Retired = true
		l.Deleted, l.Extras = true, d.encode()
		return l, nil
	})
	s.leaveGroups(ctx, id)
	switch {
	case err == nil:
		s.log.LogAttrs(ctx, slog.LevelWarn, "the vendor account is gone (deleted in the vendor?): link retired", slogID(id))
		s.record(ctx, OpRetire, id, "", nil, nil)
	case errors.Is(err, errAlreadyRetired), errors.Is(err, store.ErrNotFound):
	default:
		s.log.LogAttrs(ctx, slog.LevelError, "could not retire the link of a vendor account that is gone", slogID(id),
			slog.String("error", err.Error()))
	}
}

var errAlreadyRetired = errors.New("provision: link already deleted")

// leaveGroups takes a user who is now 404 to the IdP out of every group (RFC 7644 §3.6: a deleted resource is
// removed from the groups that named it).
func (s *Service) leaveGroups(ctx context.Context, id string) {
	if s.groups == nil {
		return
	}
	if _, err := s.groups.RemoveUser(ctx, id); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "could not remove a deleted user from its groups", slogID(id),
			slog.String("error", err.Error()))
	}
}

func (s *Service) resourceOf(l store.Link, d linkData, v adapters.User) Resource {
	r := Resource{ID: l.ID, Attrs: s.m.render(d, v), Created: v.Created, Modified: v.Updated, Version: l.Version}
	if r.Created.IsZero() {
		r.Created = l.Created
	}
	if r.Modified.IsZero() || l.Modified.After(r.Modified) {
		r.Modified = l.Modified
	}
	return r
}

// current returns the live link of id and the vendor's fresh view, linking a vendor account no IdP has written
// yet (so that a PUT or PATCH on a user found by a list works). A linked account the vendor no longer has is
// retired and answers 404.
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
		if err == nil {
			s.retire(ctx, id)
		}
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
		s.snap.put(v)
		s.record(ctx, OpLink, v.ID, v.Email, nil, nil)
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
		if err == nil {
			s.retire(ctx, id)
		}
		return Resource{}, notFound(id)
	}
	if uerr != nil {
		return Resource{}, uerr
	}
	s.snap.put(v)
	if err != nil {
		// A vendor account no IdP has written: shown, not linked, until someone writes to it.
		return s.unlinked(v), nil
	}
	return s.resourceOf(l, decodeLinkData(l.Extras), v), nil
}

// unlinked is the SCIM view of a vendor account no IdP has written and no link records.
func (s *Service) unlinked(v adapters.User) Resource {
	return Resource{ID: v.ID, Attrs: s.m.render(adopted(v), v), Created: v.Created, Modified: v.Updated}
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

// Replace applies a PUT: the IdP's copy becomes exactly attrs; what the IdP owned and left out is cleared.
func (s *Service) Replace(ctx context.Context, id string, attrs map[string]any, ifMatch string) (Resource, error) {
	res := clean(attrs)
	return s.update(ctx, id, ifMatch, writeWhole, nil, func(map[string]any) (map[string]any, error) { return res, nil })
}

// Update applies fn to the user's current SCIM view (a PATCH) and pushes the result. paths are the attribute
// paths the PATCH operations name (value filters allowed): only those are the IdP's writes.
func (s *Service) Update(ctx context.Context, id, ifMatch string, paths []string, fn func(cur map[string]any) (map[string]any, error)) (Resource, error) {
	return s.update(ctx, id, ifMatch, writePartial, paths, func(cur map[string]any) (map[string]any, error) {
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		return clean(next), nil
	})
}

// update runs one PUT or PATCH under the user's id lock. A rename also needs the new userName's lock, which must
// be taken before an id lock: update then lets go, takes it, and starts over on fresh state.
func (s *Service) update(ctx context.Context, id, ifMatch string, kind writeKind, touched []string, fn func(cur map[string]any) (map[string]any, error)) (Resource, error) {
	held := map[string]func(){}
	defer func() {
		for _, unlock := range held {
			unlock()
		}
	}()
	for {
		unlock, err := s.lock(ctx, idKey(id))
		if err != nil {
			return Resource{}, err
		}
		r, rename, err := s.updateLocked(ctx, id, ifMatch, kind, touched, fn, held)
		unlock()
		if rename == "" {
			return r, err
		}
		if len(held) >= 3 {
			// The userName changed under us three times: someone else is racing for this user.
			return Resource{}, uniqueness("The user is being renamed concurrently; retry.")
		}
		u, err := s.lock(ctx, userKey(rename))
		if err != nil {
			return Resource{}, err
		}
		held[store.Fold(rename)] = u
	}
}

// updateLocked is update's body; it returns the new userName instead of a result when that name's lock is not
// held yet.
func (s *Service) updateLocked(ctx context.Context, id, ifMatch string, kind writeKind, touched []string,
	fn func(cur map[string]any) (map[string]any, error), held map[string]func()) (Resource, string, error) {
	l, v, err := s.current(ctx, id)
	if err != nil {
		return Resource{}, "", err
	}
	if err := checkVersion(l, ifMatch); err != nil {
		return Resource{}, "", err
	}
	d := decodeLinkData(l.Extras)
	cur := s.m.render(d, v)
	next, err := fn(cur)
	if err != nil {
		return Resource{}, "", err
	}
	userName := getString(next, pathUserName)
	if strings.TrimSpace(userName) == "" {
		return Resource{}, "", invalidValue("userName is required.")
	}
	if !strings.EqualFold(userName, l.UserName) {
		if _, ok := held[store.Fold(userName)]; !ok {
			return Resource{}, userName, nil
		}
		if err := s.claimUserName(ctx, userName, id); err != nil {
			return Resource{}, "", err
		}
	}
	before := d.ownership()
	rules, err := s.ruleValues(ctx, id, idpSends(next, before, kind, touched), d)
	if err != nil {
		return Resource{}, "", err
	}
	ch, owned := s.m.plan(v, next, before, kind, touched, rules)
	op := operationOf(ch, OpUpdate)
	if op == OpDeactivate {
		done, err := s.admitDeprovision(ctx, op, id, userName)
		if err != nil {
			return Resource{}, "", err
		}
		defer done()
	}
	v, err = s.push(ctx, v, ch)
	if !ch.IsZero() {
		s.record(ctx, op, id, userName, changedNames(ch), err)
	}
	if errors.Is(err, adapters.ErrNotFound) {
		s.retire(ctx, id)
		return Resource{}, "", notFound(id)
	}
	if err != nil {
		return Resource{}, "", err
	}
	nd := linkData{Resource: next, Seen: seenOf(v), RuleOwned: ruleOwned(rules),
		Derived: d.Derived && !hasValue(next, pathGivenName) && !hasValue(next, pathFamilyName)}
	nd.setOwnership(owned)
	nl, err := s.store.Update(ctx, id, func(old store.Link) (store.Link, error) {
		old.UserName = userName
		old.ExternalID = getString(next, "externalId")
		old.Email = workEmail(next)
		old.Extras = nd.encode()
		return old, nil
	})
	if errors.Is(err, store.ErrConflict) {
		return Resource{}, "", uniqueness("A user with this userName already exists.")
	}
	if err != nil {
		return Resource{}, "", err
	}
	return s.resourceOf(nl, nd, v), "", nil
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
	done, err := s.admitDeprovision(ctx, OpDelete, id, l.UserName)
	if err != nil {
		return err
	}
	defer done()
	err = s.deleteLocked(ctx, l, v)
	s.record(ctx, OpDelete, id, l.UserName, nil, err)
	return err
}

// deleteLocked is Delete's vendor and store work, under the user's lock and admitted by the guard.
func (s *Service) deleteLocked(ctx context.Context, l store.Link, v adapters.User) error {
	id := l.ID
	var err error
	if del, ok := s.up.(adapters.Deleter); ok {
		if err := del.Delete(ctx, id); err != nil && !errors.Is(err, adapters.ErrNotFound) {
			return err
		}
		s.snap.remove(id)
		s.leaveGroups(ctx, id)
		return s.store.Delete(ctx, id)
	}
	if v.Active {
		v, err = s.push(ctx, v, adapters.Change{Active: adapters.Ptr(false)})
		if errors.Is(err, adapters.ErrNotFound) {
			// Deactivating removed the account (a vendor whose "deactivate" deletes): what the IdP asked for.
			s.retire(ctx, id)
			return nil
		}
		if err != nil {
			return err
		}
	}
	s.snap.remove(id) // 404 to the IdP from now on, so out of lists too
	s.leaveGroups(ctx, id)
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
