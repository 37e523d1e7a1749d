package provision

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Query answers GET /Users: the lookups IdPs make on every call (userName, externalId, id, work email) come from
// the store's index with at most one vendor call on a miss; plain lists and other filters read the vendor's
// listing, cached for ListTTL. startIndex counts from 1; count < 0 means "all".
func (s *Service) Query(ctx context.Context, f *filter.Filter, startIndex, count int) ([]Resource, int, error) {
	if attr, value, ok := lookupOf(f); ok {
		all, err := s.lookup(ctx, attr, value)
		if err != nil {
			return nil, 0, err
		}
		return matching(all, f, startIndex, count)
	}
	// A page after the first continues a paged import: it reuses the listing the first page read, however old,
	// so an import of any size costs one pass over the vendor's listing, not one per expiry.
	fresh := startIndex <= 1
	if f == nil {
		// A plain list renders, and asks the store about, only the page asked for.
		page, total, err := s.snap.page(ctx, s.listing(fresh), startIndex, count)
		if err != nil {
			return nil, 0, err
		}
		out, err := s.renderListed(ctx, page)
		return out, total, err
	}
	users, err := s.snap.all(ctx, s.listing(fresh))
	if err != nil {
		return nil, 0, err
	}
	all, err := s.renderListed(ctx, users)
	if err != nil {
		return nil, 0, err
	}
	return matching(all, f, startIndex, count)
}

func matching(all []Resource, f *filter.Filter, startIndex, count int) ([]Resource, int, error) {
	if f != nil {
		kept := all[:0]
		for _, r := range all {
			if f.Match(matchView(r)) {
				kept = append(kept, r)
			}
		}
		all = kept
	}
	return pageOf(all, startIndex, count), len(all), nil
}

// renderListed joins listed vendor users with their links: one store read per user shown, or one per page with a
// store that reads many links at once.
func (s *Service) renderListed(ctx context.Context, users []adapters.User) ([]Resource, error) {
	get := s.store.Get
	if b, ok := s.store.(linkBatcher); ok && len(users) > 1 {
		ids := make([]string, len(users))
		for i, v := range users {
			ids[i] = v.ID
		}
		links, err := b.GetMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		get = func(_ context.Context, id string) (store.Link, error) {
			if l, ok := links[id]; ok {
				return l, nil
			}
			return store.Link{}, store.ErrNotFound
		}
	}
	out := make([]Resource, 0, len(users))
	for _, v := range users {
		l, err := get(ctx, v.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out = append(out, s.unlinked(v))
			continue
		case err != nil:
			return nil, err
		case l.Deleted:
			continue // deleted since the listing was read
		}
		d := decodeLinkData(l.Extras)
		// Keep what the listing does not carry from what the bridge last saw.
		out = append(out, s.resourceOf(l, d, overlay(d.Seen.user(v.ID), v)))
	}
	return out, nil
}

// linkBatcher is a store that reads many links in one query (sqlstore.Store): the links of those ids that exist,
// tombstones included, keyed by id.
type linkBatcher interface {
	GetMany(ctx context.Context, ids []string) (map[string]store.Link, error)
}

// pageOf slices one page; startIndex counts from 1, count < 0 means "the rest".
func pageOf[T any](all []T, startIndex, count int) []T {
	startIndex = max(startIndex, 1)
	if startIndex > len(all) {
		return []T{}
	}
	page := all[startIndex-1:]
	if count >= 0 && count < len(page) {
		page = page[:count]
	}
	return page
}

func lookupOf(f *filter.Filter) (string, string, bool) {
	if f == nil {
		return "", "", false
	}
	return f.Lookup()
}

// matchView is the resource as a filter sees it: with id and meta.
func matchView(r Resource) map[string]any {
	m := make(map[string]any, len(r.Attrs)+2)
	for k, v := range r.Attrs {
		m[k] = v
	}
	m["id"] = r.ID
	m["meta"] = map[string]any{
		"resourceType": "User",
		"created":      r.Created.UTC().Format(time.RFC3339Nano),
		"lastModified": r.Modified.UTC().Format(time.RFC3339Nano),
		"version":      r.ETag(),
	}
	return m
}

func (s *Service) lookup(ctx context.Context, attr, value string) ([]Resource, error) {
	var (
		links []store.Link
		err   error
	)
	switch attr {
	case "id":
		l, gerr := s.store.Get(ctx, value)
		if gerr == nil && !l.Deleted {
			links = []store.Link{l}
		} else if errors.Is(gerr, store.ErrNotFound) {
			// Not linked, so not in the index: the vendor may still have it (made in its UI).
			v, err := s.up.Get(ctx, value)
			if errors.Is(err, adapters.ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			s.snap.put(v)
			return []Resource{s.unlinked(v)}, nil
		} else if gerr != nil {
			return nil, gerr
		}
	case "userName":
		links, err = s.store.Lookup(ctx, store.ByUserName, value)
	case "externalId":
		links, err = s.store.Lookup(ctx, store.ByExternalID, value)
	case "emails":
		links, err = s.store.Lookup(ctx, store.ByEmail, value)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Resource, 0, len(links))
	for _, l := range links {
		d := decodeLinkData(l.Extras)
		v := d.Seen.user(l.ID)
		if u, ok := s.snap.peek(l.ID); ok {
			// The listing (or a later read) is at least as fresh as what the bridge last wrote: a lookup then shows
			// what a list shows, such as a person deactivated in the vendor's UI.
			v = overlay(v, u)
		}
		out = append(out, s.resourceOf(l, d, v))
	}
	if len(out) > 0 || (attr != "userName" && attr != "emails") {
		return out, nil
	}
	// Not linked yet: at go-live most people already exist in the vendor, made in its own UI. Find them by email
	// and link them, so the IdP matches instead of creating a duplicate.
	v, err := s.up.FindByEmail(ctx, value)
	if errors.Is(err, adapters.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := s.link(ctx, v)
	if err != nil || r == nil {
		return nil, err
	}
	return []Resource{*r}, nil
}

// link records a link for a vendor account found by a lookup. A tombstoned account stays hidden: the IdP deleted
// it, and a create will revive it.
func (s *Service) link(ctx context.Context, v adapters.User) (*Resource, error) {
	unlock, err := s.lock(ctx, idKey(v.ID))
	if err != nil {
		return nil, err
	}
	defer unlock()
	l, err := s.store.Get(ctx, v.ID)
	if err == nil {
		if l.Deleted {
			return nil, nil
		}
		r := s.resourceOf(l, decodeLinkData(l.Extras), v)
		return &r, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	l, err = s.linkAdopted(ctx, v)
	if errors.Is(err, store.ErrConflict) {
		// Its email is another link's userName: that link is the answer the index already gave, so show nothing.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := s.resourceOf(l, decodeLinkData(l.Extras), v)
	return &r, nil
}

// overlay lays a fresher vendor view u over base: every field u carries wins; a partial u (a listing item without
// the state) leaves base's state, and attributes u does not carry stay base's.
func overlay(base, u adapters.User) adapters.User {
	out := base
	out.ID = u.ID
	if u.Email != "" {
		out.Email = u.Email
	}
	out.GivenName, out.FamilyName = u.GivenName, u.FamilyName
	if !u.Partial {
		out.Active = u.Active
	}
	if !u.Created.IsZero() {
		out.Created = u.Created
	}
	if !u.Updated.IsZero() {
		out.Updated = u.Updated
	}
	out.Attrs = make(map[string]string, len(base.Attrs)+len(u.Attrs))
	for k, v := range base.Attrs {
		out.Attrs[k] = v
	}
	for k, v := range u.Attrs {
		out.Attrs[k] = v
	}
	return out
}

// snapshot is the cached vendor listing. Writes through the bridge are applied to it at once, and replayed on top
// of a refresh that was under way while they happened, so a list right after a create always shows the new user.
type snapshot struct {
	mu         sync.Mutex
	at         time.Time
	list       *snapList // nil until a listing is read
	refreshing bool
	pending    []snapEdit
	wait       chan struct{}
}

// snapList is a listing held compactly (snapcodec.go): each user encoded in one string, in the listing's order.
// A removed user leaves an empty slot, squeezed out before the order is next read.
type snapList struct {
	recs []string
	pos  map[string]int // id -> index in recs
	dead int            // empty slots in recs
	keys attrKeys
}

func newSnapList() *snapList { return &snapList{pos: map[string]int{}} }

// put adds u at the end, or replaces it where it is.
func (l *snapList) put(u adapters.User) {
	rec := encodeUser(u, &l.keys)
	if i, ok := l.pos[u.ID]; ok {
		l.recs[i] = rec
		l.pos[encodedID(rec)] = i // the key is part of its record: let the old record go
		return
	}
	l.pos[encodedID(rec)] = len(l.recs)
	l.recs = append(l.recs, rec)
}

func (l *snapList) remove(id string) {
	if i, ok := l.pos[id]; ok {
		l.recs[i] = ""
		delete(l.pos, id)
		l.dead++
	}
}

func (l *snapList) get(id string) (adapters.User, bool) {
	i, ok := l.pos[id]
	if !ok {
		return adapters.User{}, false
	}
	return decodeUser(l.recs[i], &l.keys), true
}

// ordered returns the encoded users in the listing's order, with no empty slot.
func (l *snapList) ordered() []string {
	if l.dead > 0 {
		live := l.recs[:0]
		for _, rec := range l.recs {
			if rec != "" {
				l.pos[encodedID(rec)] = len(live)
				live = append(live, rec)
			}
		}
		clear(l.recs[len(live):])
		l.recs, l.dead = live, 0
	}
	return l.recs
}

type snapEdit struct {
	u      adapters.User
	remove bool
}

// listing says how a request may use the cached vendor listing.
type listing struct {
	maxAge time.Duration // a listing older than this is read again
	up     adapters.Adapter
	// hidden returns the ids the listing must leave out: tombstoned links, whose users are 404 to the IdP.
	hidden func(ctx context.Context) (map[string]bool, error)
}

// continuationMaxAge bounds how long a paged import may keep using one listing: long enough for 100k users at a
// slow vendor's pace, short enough that a stalled import does not pin an old listing in memory for ever.
const continuationMaxAge = 30 * time.Minute

func (s *Service) listing(fresh bool) listing {
	l := listing{maxAge: s.listTTL, up: s.up, hidden: s.tombstones}
	if !fresh {
		l.maxAge = max(s.listTTL, continuationMaxAge)
	}
	return l
}

// tombstones lists the ids of deleted links, read once per listing refresh in batches (never all links at once).
func (s *Service) tombstones(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	after := ""
	for {
		batch, err := s.store.List(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, l := range batch {
			if l.Deleted {
				out[l.ID] = true
			}
		}
		if len(batch) < 1000 {
			return out, nil
		}
		after = batch[len(batch)-1].ID
	}
}

// page returns one page of the listing (startIndex from 1; count < 0: the rest) and the listing's length.
func (sn *snapshot) page(ctx context.Context, l listing, startIndex, count int) ([]adapters.User, int, error) {
	if err := sn.ensure(ctx, l); err != nil {
		return nil, 0, err
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	all := sn.list.ordered()
	recs := pageOf(all, startIndex, count)
	out := make([]adapters.User, len(recs))
	for i, rec := range recs {
		out[i] = decodeUser(rec, &sn.list.keys)
	}
	return out, len(all), nil
}

// all returns the whole listing.
func (sn *snapshot) all(ctx context.Context, l listing) ([]adapters.User, error) {
	out, _, err := sn.page(ctx, l, 1, -1)
	return out, err
}

// ensure makes sure a listing no older than l.maxAge is loaded; one refresh runs at a time and the others wait
// for it.
func (sn *snapshot) ensure(ctx context.Context, l listing) error {
	for {
		sn.mu.Lock()
		if sn.list != nil && time.Since(sn.at) < l.maxAge {
			sn.mu.Unlock()
			return nil
		}
		if !sn.refreshing {
			break
		}
		wait := sn.wait
		sn.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sn.refreshing, sn.pending, sn.wait = true, nil, make(chan struct{})
	sn.mu.Unlock()

	list := newSnapList()
	hidden, err := l.hidden(ctx)
	if err == nil {
		for u, e := range adapters.All(ctx, l.up) {
			if e != nil {
				err = e
				break
			}
			if hidden[u.ID] {
				continue
			}
			list.put(u) // a user listed twice keeps its first place and its last value
		}
	}

	sn.mu.Lock()
	defer sn.mu.Unlock()
	sn.refreshing = false
	close(sn.wait)
	if err != nil {
		return err
	}
	sn.list, sn.at = list, time.Now()
	for _, e := range sn.pending {
		sn.applyLocked(e)
	}
	sn.pending = nil
	return nil
}

// peek returns the listing's (or a later write's) view of one user, if the listing holds it.
func (sn *snapshot) peek(id string) (adapters.User, bool) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.list == nil {
		return adapters.User{}, false
	}
	return sn.list.get(id)
}

func (sn *snapshot) put(u adapters.User) { sn.edit(snapEdit{u: u}) }
func (sn *snapshot) remove(id string) {
	sn.edit(snapEdit{u: adapters.User{ID: id}, remove: true})
}

func (sn *snapshot) edit(e snapEdit) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.refreshing {
		sn.pending = append(sn.pending, e)
	}
	if sn.list != nil {
		sn.applyLocked(e)
	}
}

func (sn *snapshot) applyLocked(e snapEdit) {
	if e.remove {
		sn.list.remove(e.u.ID)
		return
	}
	sn.list.put(e.u)
}
