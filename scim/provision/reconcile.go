package provision

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Trainual sends no webhooks, so a change made in a vendor's own UI is only seen by reading the vendor. Reconcile
// reads every vendor user and every link and reports where the two sides disagree; Fix applies the IdP's side.

// Finding kinds.
const (
	FindUnmanaged    = "unmanaged"     // a vendor user no IdP manages (no link, or linked by a lookup only)
	FindDrift        = "drift"         // vendor attributes differ from what the IdP last wrote
	FindInactive     = "inactive"      // deactivated in the vendor, active for the IdP
	FindActive       = "active"        // active in the vendor, deactivated for the IdP
	FindGone         = "gone"          // a live link whose vendor account no longer exists
	FindGroupRemoval = "group-removal" // removed from a linked SCIM group but still in the vendor group
)

// Finding is one disagreement between the vendor and the IdP's side.
type Finding struct {
	Kind       string   `json:"kind"`
	ID         string   `json:"id"`
	UserName   string   `json:"userName,omitempty"`
	Attributes []string `json:"attributes,omitempty"` // for drift: the attribute names that differ
	Detail     string   `json:"detail"`
	Fix        string   `json:"fix,omitempty"` // what --fix does about it; "" when it does nothing
}

// ReconcileReport is what Reconcile found.
type ReconcileReport struct {
	VendorUsers int       `json:"vendorUsers"`
	Links       int       `json:"links"`
	Findings    []Finding `json:"findings"`
}

// Reconcile reads every vendor user (progress is told the count so far and the vendor's total, -1 when unknown)
// and every link, and reports the disagreements. It changes nothing.
func (s *Service) Reconcile(ctx context.Context, progress func(done, total int)) (ReconcileReport, error) {
	rep := ReconcileReport{Findings: []Finding{}}
	vendor := map[string]adapters.User{}
	var order []string
	for n := 1; ; n++ {
		p, err := s.up.List(ctx, adapters.PageRequest{Number: n})
		if err != nil {
			return rep, err
		}
		for _, u := range p.Users {
			if _, dup := vendor[u.ID]; !dup {
				order = append(order, u.ID)
			}
			vendor[u.ID] = u
		}
		if progress != nil {
			progress(len(vendor), p.Total)
		}
		if p.Last || len(p.Users) == 0 || (p.Total >= 0 && len(vendor) >= p.Total) {
			break
		}
	}
	rep.VendorUsers = len(vendor)

	linked := map[string]bool{}
	after := ""
	for {
		batch, err := s.store.List(ctx, after, 1000)
		if err != nil {
			return rep, err
		}
		for _, l := range batch {
			if l.Deleted {
				continue
			}
			rep.Links++
			linked[l.ID] = true
			d := decodeLinkData(l.Extras)
			v, ok := vendor[l.ID]
			switch {
			case !ok:
				rep.Findings = append(rep.Findings, Finding{Kind: FindGone, ID: l.ID, UserName: l.UserName,
					Detail: "linked, but the vendor has no account with this id", Fix: "retire the link (a later create makes a new account)"})
				continue
			case d.unclaimed():
				rep.Findings = append(rep.Findings, Finding{Kind: FindUnmanaged, ID: l.ID, UserName: v.Email,
					Detail: "linked by a lookup, never written by the IdP"})
				continue
			}
			if v.Partial {
				// The listing does not carry the state or attributes: read the account.
				full, err := s.up.Get(ctx, l.ID)
				if errors.Is(err, adapters.ErrNotFound) {
					rep.Findings = append(rep.Findings, Finding{Kind: FindGone, ID: l.ID, UserName: l.UserName,
						Detail: "linked, but the vendor has no account with this id", Fix: "retire the link (a later create makes a new account)"})
					continue
				}
				if err != nil {
					return rep, err
				}
				v = full
			}
			rep.Findings = append(rep.Findings, s.compare(l, d, v)...)
		}
		if len(batch) < 1000 {
			break
		}
		after = batch[len(batch)-1].ID
	}
	for _, id := range order {
		if !linked[id] {
			rep.Findings = append(rep.Findings, Finding{Kind: FindUnmanaged, ID: id, UserName: vendor[id].Email,
				Detail: "a vendor user no IdP manages"})
		}
	}
	pending, err := s.PendingGroupRemovals(ctx)
	if err != nil {
		return rep, err
	}
	for gid, users := range pending {
		for _, u := range users {
			rep.Findings = append(rep.Findings, Finding{Kind: FindGroupRemoval, ID: u,
				Detail: fmt.Sprintf("removed from SCIM group %s but still in its vendor group: remove by hand in the vendor", gid)})
		}
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		if rep.Findings[i].Kind != rep.Findings[j].Kind {
			return rep.Findings[i].Kind < rep.Findings[j].Kind
		}
		return rep.Findings[i].ID < rep.Findings[j].ID
	})
	return rep, nil
}

// compare lists where the vendor account differs from what the IdP last wrote, for the attributes the IdP owns.
func (s *Service) compare(l store.Link, d linkData, v adapters.User) []Finding {
	var out []Finding
	if hasValue(d.Resource, pathActive) {
		want := activeOf(d.Resource)
		switch {
		case want && !v.Active:
			out = append(out, Finding{Kind: FindInactive, ID: l.ID, UserName: l.UserName,
				Detail: "deactivated in the vendor, active for the IdP", Fix: "reactivate in the vendor"})
		case !want && v.Active:
			out = append(out, Finding{Kind: FindActive, ID: l.ID, UserName: l.UserName,
				Detail: "active in the vendor, deactivated for the IdP", Fix: "deactivate in the vendor"})
		}
	}
	before := d.ownership()
	ch, _ := s.m.plan(v, d.Resource, before, writePartial, before.paths(), nil)
	ch.Active = nil
	if names := changedNames(ch); len(names) > 0 {
		out = append(out, Finding{Kind: FindDrift, ID: l.ID, UserName: l.UserName, Attributes: names,
			Detail: "the vendor holds other values than the IdP last wrote for " + strings.Join(names, ", "),
			Fix:    "write the IdP's values to the vendor"})
	}
	return out
}

// Fix applies the IdP's side for every finding that has a Fix: retire gone links, bring state and drifted
// attributes back to what the IdP last wrote. Deactivations still pass the mass-deprovisioning guard. It returns
// the findings it could not fix, with why.
func (s *Service) Fix(ctx context.Context, rep ReconcileReport) []error {
	var failed []error
	for _, f := range rep.Findings {
		if f.Fix == "" {
			continue
		}
		var err error
		switch f.Kind {
		case FindGone:
			s.retire(ctx, f.ID)
		case FindDrift, FindInactive, FindActive:
			err = s.rewrite(ctx, f.ID, true)
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("%s %s: %w", f.Kind, f.ID, err))
		}
	}
	return failed
}

// LinkView is one link as an operator sees it (`scim-bridge links`).
type LinkView struct {
	ID         string   `json:"id"` // SCIM id = vendor id
	UserName   string   `json:"userName"`
	ExternalID string   `json:"externalId,omitempty"`
	State      string   `json:"state"` // live, unclaimed (linked by a lookup only), tombstoned, retired
	Version    int64    `json:"version"`
	LastWrite  string   `json:"lastWrite"`
	Owned      []string `json:"owned,omitempty"` // the attributes the IdP has written
}

// ViewLink describes a stored link.
func ViewLink(l store.Link) LinkView {
	d := decodeLinkData(l.Extras)
	state := "live"
	switch {
	case l.Deleted && d.Retired:
		state = "retired"
	case l.Deleted:
		state = "tombstoned"
	case d.unclaimed():
		state = "unclaimed"
	}
	owned := d.ownership().paths()
	sort.Strings(owned)
	return LinkView{ID: l.ID, UserName: l.UserName, ExternalID: l.ExternalID, State: state, Version: l.Version,
		LastWrite: l.Modified.UTC().Format("2006-01-02T15:04:05Z"), Owned: owned}
}

// Links lists the connection's links (tombstones included); who, when set, keeps the one with that SCIM id or
// userName.
func (s *Service) Links(ctx context.Context, who string) ([]LinkView, error) {
	var out []LinkView
	after := ""
	for {
		batch, err := s.store.List(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, l := range batch {
			if who == "" || l.ID == who || store.Fold(l.UserName) == store.Fold(who) {
				out = append(out, ViewLink(l))
			}
		}
		if len(batch) < 1000 {
			return out, nil
		}
		after = batch[len(batch)-1].ID
	}
}

// AuditEvents reads the audit trail, every page of it.
func (s *Service) AuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	if s.audit == nil {
		return nil, errors.New("this store keeps no audit trail")
	}
	var out []store.AuditEvent
	for {
		q.Limit = 1000
		evs, err := s.audit.Events(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		if len(evs) < 1000 {
			return out, nil
		}
		q.After = evs[len(evs)-1].Seq
	}
}
