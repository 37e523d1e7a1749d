package adapters

import (
	"context"
	"time"
)

// GroupAdder is implemented by adapters whose vendor has groups the API can add a person to (Thought Industries:
// POST /groups/{groupId}/users). Neither vendor documents a call that removes a person from a group.
type GroupAdder interface {
	// AddToGroup makes user userID a member of the vendor group groupID; adding a member again is not an error.
	AddToGroup(ctx context.Context, groupID, userID string) error
}

// HasGroups reports whether a raw adapter (before decorators) can add people to vendor groups.
func HasGroups(a Adapter) bool {
	_, ok := a.(GroupAdder)
	return ok
}

// AddToGroup implements GroupAdder with the policy's retries; it fails as internal when the wrapped adapter has no
// vendor groups (configuration validation keeps that from happening).
func (r *retrying) AddToGroup(ctx context.Context, groupID, userID string) error {
	ga, ok := r.next.(GroupAdder)
	if !ok {
		return Errorf(KindInternal, "add to group", "this target has no vendor groups")
	}
	_, err := do(ctx, r, "add to group", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, ga.AddToGroup(ctx, groupID, userID)
	})
	return err
}

// AddToGroup implements GroupAdder by measuring the wrapped adapter's call.
func (in *instrumented) AddToGroup(ctx context.Context, groupID, userID string) error {
	ga, ok := in.next.(GroupAdder)
	if !ok {
		return Errorf(KindInternal, "add to group", "this target has no vendor groups")
	}
	start := time.Now()
	err := ga.AddToGroup(ctx, groupID, userID)
	in.m.observe("add_to_group", start, err)
	return err
}
