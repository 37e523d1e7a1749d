package provision

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Query answers GET /Users: the lookups IdPs make on every call (userName, externalId, id, work email) come from
// the store's index with at most one vendor call on a miss; plain lists and other filters read the vendor's
// listing, cached for ListTTL. startIndex counts from 1; count < 0 means "all".
func (s *Service) Query(ctx context.Context, f *filter.Filter, startIndex, count int) ([]Resource, int, error) {
	var all []Resource
	if attr, value, ok := lookupOf(f); ok {
		var err error
		if all, err = s.lookup(ctx, attr, value); err != nil {
			return nil, 0, err
		}
	} else {
		entries, err := s.scan(ctx)
		if err != nil {
			return nil, 0, err
		}
		if f == nil {
			// A plain list (Okta's paged import) renders only the page asked for, not every user on every page.
			page := pageOf(entries, startIndex, count)
			out := make([]Resource, len(page))
			for i, e := range page {
				out[i] = e.resource()
			}
			return out, len(entries), nil
		}
		all = make([]Resource, len(entries))
		for i, e := range entries {
			all[i] = e.resource()
		}
	}
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
			r, err := s.Get(ctx, value)
			if err != nil {
				if isNotFound(err) {
					return nil, nil
				}
				return nil, err
			}
			return []Resource{r}, nil
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
		out = append(out, resourceOf(l, d, d.Seen.user(l.ID)))
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

func isNotFound(err error) bool {
	se, ok := errors.AsType[scimerrors.ScimError](err)
	return ok && se.Status == http.StatusNotFound
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
		r := resourceOf(l, decodeLinkData(l.Extras), v)
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
	r := resourceOf(l, decodeLinkData(l.Extras), v)
	return &r, nil
}

// scanEntry is a vendor user from the listing and its link, if any, rendered only when needed.
type scanEntry struct {
	v adapters.User
	l *store.Link
}

func (e scanEntry) resource() Resource {
	v := e.v
	if e.l == nil {
		return Resource{ID: v.ID, Attrs: render(adopted(v), v), Created: v.Created, Modified: v.Updated}
	}
	d := decodeLinkData(e.l.Extras)
	if v.Partial {
		// Keep what the listing does not carry from what the bridge last saw.
		seen := d.Seen.user(v.ID)
		seen.Email, seen.GivenName, seen.FamilyName = v.Email, v.GivenName, v.FamilyName
		v = seen
	}
	return resourceOf(*e.l, d, v)
}

// scan lists every vendor user that is not tombstoned, in the vendor's order.
func (s *Service) scan(ctx context.Context) ([]scanEntry, error) {
	users, err := s.snap.get(ctx, s.listTTL, s.up)
	if err != nil {
		return nil, err
	}
	links := map[string]store.Link{}
	after := ""
	for {
		batch, err := s.store.List(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, l := range batch {
			links[l.ID] = l
		}
		if len(batch) < 1000 {
			break
		}
		after = batch[len(batch)-1].ID
	}
	out := make([]scanEntry, 0, len(users))
	for _, v := range users {
		e := scanEntry{v: v}
		if l, ok := links[v.ID]; ok {
			if l.Deleted {
				continue
			}
			e.l = &l
		}
		out = append(out, e)
	}
	return out, nil
}

// snapshot is the cached vendor listing. Writes through the bridge are applied to it at once, and replayed on top
// of a refresh that was under way while they happened, so a list right after a create always shows the new user.
type snapshot struct {
	mu         sync.Mutex
	at         time.Time
	order      []string
	users      map[string]adapters.User
	refreshing bool
	pending    []snapEdit
	wait       chan struct{}
}

type snapEdit struct {
	u      adapters.User
	remove bool
}

func (sn *snapshot) get(ctx context.Context, ttl time.Duration, a adapters.Adapter) ([]adapters.User, error) {
	for {
		sn.mu.Lock()
		if sn.users != nil && time.Since(sn.at) < ttl {
			out := make([]adapters.User, 0, len(sn.order))
			for _, id := range sn.order {
				out = append(out, sn.users[id])
			}
			sn.mu.Unlock()
			return out, nil
		}
		if !sn.refreshing {
			break
		}
		wait := sn.wait
		sn.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	sn.refreshing, sn.pending, sn.wait = true, nil, make(chan struct{})
	sn.mu.Unlock()

	var order []string
	users := map[string]adapters.User{}
	var err error
	for u, e := range adapters.All(ctx, a) {
		if e != nil {
			err = e
			break
		}
		if _, dup := users[u.ID]; !dup {
			order = append(order, u.ID)
		}
		users[u.ID] = u
	}

	sn.mu.Lock()
	defer sn.mu.Unlock()
	sn.refreshing = false
	close(sn.wait)
	if err != nil {
		return nil, err
	}
	sn.order, sn.users, sn.at = order, users, time.Now()
	for _, e := range sn.pending {
		sn.applyLocked(e)
	}
	sn.pending = nil
	out := make([]adapters.User, 0, len(sn.order))
	for _, id := range sn.order {
		out = append(out, sn.users[id])
	}
	return out, nil
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
	if sn.users != nil {
		sn.applyLocked(e)
	}
}

func (sn *snapshot) applyLocked(e snapEdit) {
	_, exists := sn.users[e.u.ID]
	if e.remove {
		if exists {
			delete(sn.users, e.u.ID)
			for i, id := range sn.order {
				if id == e.u.ID {
					sn.order = append(sn.order[:i:i], sn.order[i+1:]...)
					break
				}
			}
		}
		return
	}
	if !exists {
		sn.order = append(sn.order, e.u.ID)
	}
	sn.users[e.u.ID] = e.u
}
