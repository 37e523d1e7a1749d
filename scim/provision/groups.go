package provision

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Neither vendor has SCIM groups, so the bridge owns them: a group and its members live in the store. What a group
// does in the vendor is configured: a GroupLink adds its members to a vendor group; a GroupRule gives its members
// attribute values. A group with neither is kept by the bridge only, so Okta's Group Push and Entra's group
// provisioning work and nothing changes in the vendor.

// GroupResource is a group as the SCIM side renders it.
type GroupResource struct {
	ID          string
	DisplayName string
	ExternalID  string
	// Members is nil when they were not asked for (excludedAttributes=members), else every member.
	Members  []Member
	Created  time.Time
	Modified time.Time
	Version  int64
}

// ETag is the group's weak entity tag, also its meta.version.
func (g GroupResource) ETag() string { return ETag(g.Version) }

// Member is one member of a group: a user's SCIM id and its userName.
type Member struct {
	Value   string
	Display string
}

// GroupRef names a group a user belongs to, for the user's read-only "groups" attribute.
type GroupRef struct {
	ID          string
	DisplayName string
}

// GroupInput is a whole group as a POST or PUT gives it.
type GroupInput struct {
	DisplayName string
	ExternalID  string
	Members     []string          // user ids
	Displays    map[string]string // display names the IdP gave its members, by user id (optional)
}

// GroupOpKind is what one PATCH operation on a group does.
type GroupOpKind int

// The group PATCH operations, covering every shape Okta and Entra send.
const (
	SetDisplayName GroupOpKind = iota + 1
	SetExternalID
	AddMembers
	RemoveMembers
	ClearMembers
	ReplaceMembers
)

// GroupOp is one PATCH operation on a group.
type GroupOp struct {
	Kind     GroupOpKind
	Value    string            // displayName or externalId
	Members  []string          // user ids
	Displays map[string]string // display names the IdP gave, by user id (optional)
}

// groupData is what the store's opaque Extras holds for a group.
type groupData struct {
	// PendingRemovals are members removed from a linked group while still in the vendor group: the vendor's API
	// documents no removal, so an administrator must take them out by hand (the drift report lists them).
	PendingRemovals []pendingRemoval `json:"pendingRemovals,omitempty"`
	// Displays are member display names the IdP sent that differ from the member's userName (rare: Okta sends
	// the userName, Entra none). Members are shown with them, as the IdP wrote them.
	Displays map[string]string `json:"displays,omitempty"`
}

type pendingRemoval struct {
	User        string    `json:"user"`
	VendorGroup string    `json:"vendorGroup"`
	Since       time.Time `json:"since"`
}

func decodeGroupData(b []byte) groupData {
	var d groupData
	if len(b) > 0 {
		_ = json.Unmarshal(b, &d)
	}
	return d
}

func (d groupData) encode() []byte {
	b, _ := json.Marshal(d)
	return b
}

// GroupsEnabled reports whether this connection serves /Groups.
func (s *Service) GroupsEnabled() bool { return s.groups != nil }

func groupKey(id string) string { return "group:" + id }

func newGroupID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // RFC 9562 version 4
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Service) groupResource(ctx context.Context, g store.Group, withMembers bool) (GroupResource, error) {
	r := GroupResource{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Created: g.Created,
		Modified: g.Modified, Version: g.Version}
	if !withMembers {
		return r, nil
	}
	r.Members = []Member{}
	displays := decodeGroupData(g.Extras).Displays
	after := ""
	for {
		ids, err := s.groups.Members(ctx, g.ID, after, 1000)
		if err != nil {
			return GroupResource{}, err
		}
		userNames := s.userNames(ctx, ids, displays)
		for _, id := range ids {
			m := Member{Value: id, Display: displays[id]}
			if m.Display == "" {
				m.Display = userNames[id]
			}
			r.Members = append(r.Members, m)
		}
		if len(ids) < 1000 {
			return r, nil
		}
		after = ids[len(ids)-1]
	}
}

// userNames reads the userNames of the members without a display the IdP gave: a group of thousands is read with
// one store query per page where the store reads many links at once, not one per member. A link that cannot be
// read leaves its member without a display.
func (s *Service) userNames(ctx context.Context, ids []string, displays map[string]string) map[string]string {
	var need []string
	for _, id := range ids {
		if displays[id] == "" {
			need = append(need, id)
		}
	}
	out := make(map[string]string, len(need))
	if b, ok := s.store.(linkBatcher); ok && len(need) > 1 {
		links, _ := b.GetMany(ctx, need)
		for id, l := range links {
			out[id] = l.UserName
		}
		return out
	}
	for _, id := range need {
		if l, err := s.store.Get(ctx, id); err == nil {
			out[id] = l.UserName
		}
	}
	return out
}

// checkMembers makes sure every id is a user the IdP can see: a live link, or a vendor account (then linked). An
// unknown id fails the whole request before anything changes.
func (s *Service) checkMembers(ctx context.Context, ids []string) error {
	var unknown []string
	for _, id := range ids {
		l, err := s.store.Get(ctx, id)
		switch {
		case err == nil && !l.Deleted:
			continue
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		case err == nil: // a deleted user
			unknown = append(unknown, id)
			continue
		}
		v, err := s.up.Get(ctx, id)
		if errors.Is(err, adapters.ErrNotFound) {
			unknown = append(unknown, id)
			continue
		}
		if err != nil {
			return err
		}
		if _, err := s.linkAdopted(ctx, v); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	if len(unknown) > 0 {
		if len(unknown) > 5 {
			unknown = append(unknown[:5], fmt.Sprintf("and %d more", len(unknown)-5))
		}
		return invalidValue("members: no user has the id " + strings.Join(unknown, ", ") + "; nothing was changed.")
	}
	return nil
}

// CreateGroup stores a new group and applies what its members get in the vendor.
func (s *Service) CreateGroup(ctx context.Context, in GroupInput) (GroupResource, error) {
	if strings.TrimSpace(in.DisplayName) == "" {
		return GroupResource{}, invalidValue("displayName is required.")
	}
	members := dedupe(in.Members)
	if err := s.checkMembers(ctx, members); err != nil {
		return GroupResource{}, err
	}
	id := newGroupID()
	unlock, err := s.lock(ctx, groupKey(id))
	if err != nil {
		return GroupResource{}, err
	}
	defer unlock()
	g, err := s.groups.CreateGroup(ctx, store.Group{ID: id, DisplayName: in.DisplayName, ExternalID: in.ExternalID})
	if errors.Is(err, store.ErrConflict) {
		return GroupResource{}, uniqueness("A group with this displayName already exists.")
	}
	if err != nil {
		return GroupResource{}, err
	}
	if len(members) > 0 {
		if _, _, err := s.groups.ChangeMembers(ctx, id, members, nil); err != nil {
			return GroupResource{}, err
		}
		if err := s.keepDisplays(ctx, id, in.Displays, nil, false); err != nil {
			return GroupResource{}, err
		}
		if g, err = s.groups.GetGroup(ctx, id); err != nil {
			return GroupResource{}, err
		}
	}
	if err := s.groupEffects(ctx, g, members, nil); err != nil {
		s.undoCreate(ctx, g, members)
		return GroupResource{}, err
	}
	return s.groupResource(ctx, g, true)
}

// undoCreate removes a group whose creation is answered with an error. The IdP never got the group, so it must not
// stay: Okta's retried POST would meet a 409 for it, and Entra, finding it by name, would PATCH members that are
// already there. The vendor-group additions already made stay, since the retry makes them again and they are
// idempotent. Rule values already applied are decided again without the group. Failures are logged: the error the
// IdP gets is the one that caused the undo.
func (s *Service) undoCreate(ctx context.Context, g store.Group, members []string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.groups.DeleteGroup(ctx, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.LogAttrs(ctx, slog.LevelError, "a group whose creation failed could not be removed; delete it in the IdP or by id",
			slog.String("group", g.ID), slog.String("error", err.Error()))
		return
	}
	if len(s.rules) == 0 {
		return
	}
	for _, u := range members {
		if err := s.reapplyRules(ctx, u); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "a group rule value could not be reverted after a failed group creation; the next write of this user reverts it",
				slog.String("id", u), slog.String("group", g.ID), slog.String("error", err.Error()))
		}
	}
}

// GetGroup returns one group.
func (s *Service) GetGroup(ctx context.Context, id string, withMembers bool) (GroupResource, error) {
	g, err := s.groups.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return GroupResource{}, notFound(id)
	}
	if err != nil {
		return GroupResource{}, err
	}
	return s.groupResource(ctx, g, withMembers)
}

// QueryGroups answers GET /Groups: equality lookups on id, displayName and externalId (alone or in an "and") come
// from the index; other filters scan the groups, which are few. Membership in a filter is checked per candidate,
// never by loading members. startIndex counts from 1; count < 0 means all.
func (s *Service) QueryGroups(ctx context.Context, f *filter.GroupFilter, startIndex, count int, withMembers bool) ([]GroupResource, int, error) {
	var candidates []store.Group
	attr, value, narrowed := f.Lookup()
	switch {
	case narrowed && attr == "id":
		g, err := s.groups.GetGroup(ctx, value)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, 0, err
		}
		if err == nil {
			candidates = []store.Group{g}
		}
	case narrowed:
		by := store.GroupByDisplayName
		if attr == "externalId" {
			by = store.GroupByExternalID
		}
		gs, err := s.groups.LookupGroups(ctx, by, value)
		if err != nil {
			return nil, 0, err
		}
		candidates = gs
	default:
		after := ""
		for {
			batch, err := s.groups.ListGroups(ctx, after, 1000)
			if err != nil {
				return nil, 0, err
			}
			candidates = append(candidates, batch...)
			if len(batch) < 1000 {
				break
			}
			after = batch[len(batch)-1].ID
		}
	}
	kept := candidates[:0]
	for _, g := range candidates {
		if f == nil || f.Match(s.groupView(ctx, g)) {
			kept = append(kept, g)
		}
	}
	page := pageOf(kept, startIndex, count)
	out := make([]GroupResource, 0, len(page))
	for _, g := range page {
		r, err := s.groupResource(ctx, g, withMembers)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, len(kept), nil
}

func (s *Service) groupView(ctx context.Context, g store.Group) filter.GroupView {
	return filter.GroupView{
		ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Created: g.Created, Modified: g.Modified,
		Version: ETag(g.Version),
		IsMember: func(userID string) bool {
			ids, err := s.groups.GroupsOf(ctx, userID)
			if err != nil {
				return false
			}
			for _, id := range ids {
				if id == g.ID {
					return true
				}
			}
			return false
		},
		HasMembers: func() bool {
			n, err := s.groups.CountMembers(ctx, g.ID)
			return err == nil && n > 0
		},
	}
}

// ReplaceGroup applies a PUT: name, externalId and members become exactly in's.
func (s *Service) ReplaceGroup(ctx context.Context, id, ifMatch string, in GroupInput) (GroupResource, error) {
	if strings.TrimSpace(in.DisplayName) == "" {
		return GroupResource{}, invalidValue("displayName is required.")
	}
	return s.PatchGroup(ctx, id, ifMatch, []GroupOp{
		{Kind: SetDisplayName, Value: in.DisplayName},
		{Kind: SetExternalID, Value: in.ExternalID},
		{Kind: ReplaceMembers, Members: in.Members, Displays: in.Displays},
	})
}

// PatchGroup applies PATCH operations in order, as one change: every member id is checked first, and an unknown
// one changes nothing. Member changes are made by the pair, so a group of thousands is never loaded for them.
func (s *Service) PatchGroup(ctx context.Context, id, ifMatch string, ops []GroupOp) (GroupResource, error) {
	var named []string
	for _, op := range ops {
		if op.Kind == AddMembers || op.Kind == ReplaceMembers {
			named = append(named, op.Members...)
		}
	}
	if err := s.checkMembers(ctx, dedupe(named)); err != nil {
		return GroupResource{}, err
	}
	unlock, err := s.lock(ctx, groupKey(id))
	if err != nil {
		return GroupResource{}, err
	}
	defer unlock()
	g, err := s.groups.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return GroupResource{}, notFound(id)
	}
	if err != nil {
		return GroupResource{}, err
	}
	if err := checkVersionOf(g.Version, ifMatch); err != nil {
		return GroupResource{}, err
	}
	before := g
	// A rename that would collide fails before any member changes: a PATCH is applied whole or not at all.
	for _, op := range ops {
		if op.Kind == SetDisplayName && !strings.EqualFold(op.Value, g.DisplayName) {
			taken, err := s.groups.LookupGroups(ctx, store.GroupByDisplayName, op.Value)
			if err != nil {
				return GroupResource{}, err
			}
			for _, o := range taken {
				if o.ID != id {
					return GroupResource{}, uniqueness("A group with this displayName already exists.")
				}
			}
		}
	}
	// Net effect per user over all operations: true added, false removed.
	net := map[string]bool{}
	var order []string
	note := func(ids []string, added bool) {
		for _, u := range ids {
			if _, ok := net[u]; !ok {
				order = append(order, u)
			}
			net[u] = added
		}
	}
	name, ext := g.DisplayName, g.ExternalID
	for _, op := range ops {
		switch op.Kind {
		case SetDisplayName:
			if strings.TrimSpace(op.Value) == "" {
				return GroupResource{}, invalidValue("displayName is required.")
			}
			name = op.Value
		case SetExternalID:
			ext = op.Value
		case AddMembers:
			added, _, err := s.groups.ChangeMembers(ctx, id, dedupe(op.Members), nil)
			if err != nil {
				return GroupResource{}, err
			}
			note(added, true)
			note(missing(dedupe(op.Members), added), true) // already members: effects are re-applied, idempotently
			if err := s.keepDisplays(ctx, id, op.Displays, nil, false); err != nil {
				return GroupResource{}, err
			}
		case RemoveMembers:
			_, removed, err := s.groups.ChangeMembers(ctx, id, nil, dedupe(op.Members))
			if err != nil {
				return GroupResource{}, err
			}
			note(removed, false)
			if err := s.keepDisplays(ctx, id, nil, removed, false); err != nil {
				return GroupResource{}, err
			}
		case ClearMembers:
			removed, err := s.groups.ClearMembers(ctx, id)
			if err != nil {
				return GroupResource{}, err
			}
			note(removed, false)
			if err := s.keepDisplays(ctx, id, nil, nil, true); err != nil {
				return GroupResource{}, err
			}
		case ReplaceMembers:
			want := dedupe(op.Members)
			keep := map[string]bool{}
			for _, u := range want {
				keep[u] = true
			}
			current, err := s.allMembers(ctx, id)
			if err != nil {
				return GroupResource{}, err
			}
			var drop []string
			for _, u := range current {
				if !keep[u] {
					drop = append(drop, u)
				}
			}
			added, removed, err := s.groups.ChangeMembers(ctx, id, want, drop)
			if err != nil {
				return GroupResource{}, err
			}
			note(removed, false)
			note(added, true)
			note(missing(want, added), true)
			if err := s.keepDisplays(ctx, id, op.Displays, removed, false); err != nil {
				return GroupResource{}, err
			}
		}
	}
	if name != g.DisplayName || ext != g.ExternalID {
		_, err := s.groups.UpdateGroup(ctx, id, func(old store.Group) (store.Group, error) {
			old.DisplayName, old.ExternalID = name, ext
			return old, nil
		})
		if errors.Is(err, store.ErrConflict) {
			return GroupResource{}, uniqueness("A group with this displayName already exists.")
		}
		if err != nil {
			return GroupResource{}, err
		}
	}
	if g, err = s.groups.GetGroup(ctx, id); err != nil {
		return GroupResource{}, err
	}
	var added, removed []string
	for _, u := range order {
		if net[u] {
			added = append(added, u)
		} else {
			removed = append(removed, u)
		}
	}
	if renamed := before.DisplayName != g.DisplayName || before.ExternalID != g.ExternalID; renamed && (len(s.rules) > 0 || len(s.groupLinks) > 0) {
		// Rules and links match groups by name: after a rename every member's effects are decided again.
		all, err := s.allMembers(ctx, id)
		if err != nil {
			return GroupResource{}, err
		}
		added = all
	}
	if err := s.groupEffects(ctx, g, added, removed); err != nil {
		return GroupResource{}, err
	}
	return s.groupResource(ctx, g, true)
}

// DeleteGroup removes a group; its former members lose what it gave them in the vendor.
func (s *Service) DeleteGroup(ctx context.Context, id, ifMatch string) error {
	unlock, err := s.lock(ctx, groupKey(id))
	if err != nil {
		return err
	}
	defer unlock()
	g, err := s.groups.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	if err := checkVersionOf(g.Version, ifMatch); err != nil {
		return err
	}
	removed, err := s.groups.ClearMembers(ctx, id)
	if err != nil {
		return err
	}
	if err := s.groupEffects(ctx, g, nil, removed); err != nil {
		return err
	}
	return s.groups.DeleteGroup(ctx, id)
}

// keepDisplays records the display names the IdP gave members (only those that differ from the member's
// userName, so the record stays small) and forgets those of removed members (all of them with clear).
func (s *Service) keepDisplays(ctx context.Context, groupID string, given map[string]string, removed []string, clear bool) error {
	set := map[string]string{}
	for id, d := range given {
		if l, err := s.store.Get(ctx, id); err == nil && d != l.UserName {
			set[id] = d
		}
	}
	if len(set) == 0 && len(removed) == 0 && !clear {
		return nil
	}
	_, err := s.groups.UpdateGroup(ctx, groupID, func(old store.Group) (store.Group, error) {
		d := decodeGroupData(old.Extras)
		if clear {
			d.Displays = nil
		}
		for _, id := range removed {
			delete(d.Displays, id)
		}
		for id, v := range set {
			if d.Displays == nil {
				d.Displays = map[string]string{}
			}
			d.Displays[id] = v
		}
		old.Extras = d.encode()
		return old, nil
	})
	return err
}

// allMembers lists every member id of a group, a page of the store at a time.
func (s *Service) allMembers(ctx context.Context, id string) ([]string, error) {
	var out []string
	after := ""
	for {
		ids, err := s.groups.Members(ctx, id, after, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
		if len(ids) < 1000 {
			return out, nil
		}
		after = ids[len(ids)-1]
	}
}

// UserGroups lists the groups a user is a member of, for the user's read-only "groups" attribute.
func (s *Service) UserGroups(ctx context.Context, userID string) ([]GroupRef, error) {
	if s.groups == nil {
		return nil, nil
	}
	ids, err := s.groups.GroupsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]GroupRef, 0, len(ids))
	for _, id := range ids {
		g, err := s.groups.GetGroup(ctx, id)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, GroupRef{ID: id, DisplayName: g.DisplayName})
	}
	return out, nil
}

// vendorGroupOf is the vendor group a SCIM group is linked to, "" when none.
func (s *Service) vendorGroupOf(g store.Group) string {
	for _, l := range s.groupLinks {
		if (l.ExternalID && l.Match == g.ExternalID && g.ExternalID != "") || (!l.ExternalID && store.Fold(l.Match) == store.Fold(g.DisplayName)) {
			return l.VendorGroup
		}
	}
	return ""
}

// groupEffects applies what a membership change means in the vendor: members added to a linked group are added to
// the vendor group; members removed from one are recorded for a manual removal (no API call exists); and every
// person whose groups changed gets the attribute values the rules now give them, through the normal update path.
func (s *Service) groupEffects(ctx context.Context, g store.Group, added, removed []string) error {
	if vg := s.vendorGroupOf(g); vg != "" {
		ga, ok := s.up.(adapters.GroupAdder)
		for _, u := range added {
			if !ok {
				break
			}
			err := ga.AddToGroup(ctx, vg, u)
			s.record(ctx, OpGroupAdd, u, "", []string{"group:" + vg}, err)
			if err != nil {
				if errors.Is(err, adapters.ErrNotFound) {
					// The group (or, rarely, the account) is missing in the vendor: a configuration error an
					// administrator can read in the IdP's provisioning log.
					return &adapters.Error{Kind: adapters.KindRejected, Op: "add to group",
						Detail: "group " + vg + " (SCIM_BRIDGE_GROUP_LINKS) or the person does not exist", Err: err}
				}
				return err
			}
		}
		if len(removed) > 0 || len(added) > 0 {
			if err := s.recordRemovals(ctx, g.ID, vg, added, removed); err != nil {
				return err
			}
		}
	}
	if len(s.rules) == 0 {
		return nil
	}
	for _, u := range append(append([]string(nil), added...), removed...) {
		if err := s.reapplyRules(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) recordRemovals(ctx context.Context, groupID, vendorGroup string, added, removed []string) error {
	now := time.Now().UTC()
	_, err := s.groups.UpdateGroup(ctx, groupID, func(old store.Group) (store.Group, error) {
		d := decodeGroupData(old.Extras)
		back := map[string]bool{}
		for _, u := range added {
			back[u] = true
		}
		kept := d.PendingRemovals[:0]
		for _, p := range d.PendingRemovals {
			if !back[p.User] { // re-added: nothing to remove by hand any more
				kept = append(kept, p)
			}
		}
		d.PendingRemovals = kept
		for _, u := range removed {
			d.PendingRemovals = append(d.PendingRemovals, pendingRemoval{User: u, VendorGroup: vendorGroup, Since: now})
		}
		old.Extras = d.encode()
		return old, nil
	})
	for _, u := range removed {
		s.log.LogAttrs(ctx, slog.LevelWarn, "remove this person from the vendor group by hand: the vendor's API has no call for it",
			slogID(u), slog.String("vendor_group", vendorGroup), slog.String("group_id", groupID))
		s.record(ctx, OpGroupRemove, u, "", []string{"group:" + vendorGroup}, errManual)
	}
	return err
}

// errManual is the audit result of a change the vendor's API cannot make.
var errManual = errors.New("provision: to be done by hand in the vendor")

// PendingGroupRemovals lists, per group id, the people removed from a linked group who are still in the vendor group.
func (s *Service) PendingGroupRemovals(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	if s.groups == nil {
		return out, nil
	}
	after := ""
	for {
		batch, err := s.groups.ListGroups(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, g := range batch {
			for _, p := range decodeGroupData(g.Extras).PendingRemovals {
				out[g.ID] = append(out[g.ID], p.User)
			}
		}
		if len(batch) < 1000 {
			return out, nil
		}
		after = batch[len(batch)-1].ID
	}
}

// reapplyRules brings one person's rule-driven attributes in line with their groups.
func (s *Service) reapplyRules(ctx context.Context, userID string) error {
	if err := s.rewrite(ctx, userID, false); err != nil && !isNotFound(err) {
		return err
	}
	return nil // gone from the vendor: nothing to apply
}

// rewrite brings the vendor account in line with the link's record, under the user's lock: the values the group
// rules now give, and with reassert also what the IdP last wrote (its owned attributes and state). A deactivation
// passes the guard; an account the vendor no longer has is retired (404).
func (s *Service) rewrite(ctx context.Context, id string, reassert bool) error {
	unlock, err := s.lock(ctx, idKey(id))
	if err != nil {
		return err
	}
	defer unlock()
	l, v, err := s.current(ctx, id)
	if err != nil {
		return err
	}
	d := decodeLinkData(l.Extras)
	before := d.ownership()
	rules, err := s.ruleValues(ctx, id, idpSends(d.Resource, before, writePartial, nil), d)
	if err != nil {
		return err
	}
	var touched []string
	if reassert {
		touched = append(before.paths(), pathActive)
	}
	ch, _ := s.m.plan(v, d.Resource, before, writePartial, touched, rules)
	op := operationOf(ch, OpUpdate)
	if op == OpDeactivate {
		done, err := s.admitDeprovision(ctx, op, id, l.UserName)
		if err != nil {
			return err
		}
		defer done()
	}
	v, err = s.push(ctx, v, ch)
	if !ch.IsZero() {
		s.record(ctx, op, id, l.UserName, changedNames(ch), err)
	}
	if errors.Is(err, adapters.ErrNotFound) {
		s.retire(ctx, id)
		return notFound(id)
	}
	if err != nil {
		return err
	}
	// RuleOwned is what a later change of groups clears: it must name what this write set by rule.
	d.Seen, d.RuleOwned = seenOf(v), ruleOwned(rules)
	_, err = s.store.Update(ctx, id, func(old store.Link) (store.Link, error) {
		old.Extras = d.encode()
		return old, nil
	})
	return err
}

// ruleValues decides, for each attribute a rule sets, what the person's groups make of it: a value (set), nil
// (clear: a rule set it before and none applies now), or absent (the IdP's own value, or the vendor's, stands).
// A group rule wins over the IdP's value; a "*" rule only fills in when the IdP sent none. idp (idpSends) tells
// whether the IdP itself gives a path a value.
func (s *Service) ruleValues(ctx context.Context, userID string, idp func(path string) bool, d linkData) (map[string]*string, error) {
	if len(s.rules) == 0 {
		return nil, nil
	}
	names := map[string]bool{}
	if s.groups != nil {
		ids, err := s.groups.GroupsOf(ctx, userID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if g, err := s.groups.GetGroup(ctx, id); err == nil {
				names[store.Fold(g.DisplayName)] = true
			}
		}
	}
	before := map[string]bool{}
	for _, p := range d.RuleOwned {
		before[p] = true
	}
	out := map[string]*string{}
	for _, p := range s.rules.paths() {
		var val *string
		for _, r := range s.rules {
			if v, ok := r.Values[p]; ok && r.Group != "*" && names[store.Fold(r.Group)] {
				val = &v
				break
			}
		}
		if val == nil && idp(p) {
			continue // the IdP's value stands
		}
		if val == nil {
			for _, r := range s.rules {
				if v, ok := r.Values[p]; ok && r.Group == "*" {
					val = &v
					break
				}
			}
		}
		switch {
		case val != nil:
			out[p] = val
		case before[p]:
			out[p] = nil
		}
	}
	return out, nil
}

func ruleOwned(rules map[string]*string) []string {
	var out []string
	for p, v := range rules {
		if v != nil {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func checkVersionOf(version int64, ifMatch string) error {
	return checkVersion(store.Link{Version: version}, ifMatch)
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// missing returns the elements of all that are not in some, in all's order.
func missing(all, some []string) []string {
	in := map[string]bool{}
	for _, x := range some {
		in[x] = true
	}
	var out []string
	for _, x := range all {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}
