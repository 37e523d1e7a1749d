package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrNotFound reports that no link has the requested id.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that the id already exists (live or tombstone) or that the userName, compared
	// case-insensitively, is held by another live link.
	ErrConflict = errors.New("store: conflict")
)

// Index names a secondary lookup the store answers without a scan.
type Index int

const (
	// ByUserName matches userName case-insensitively among live links; it returns at most one link.
	ByUserName Index = iota + 1
	// ByExternalID matches externalId exactly among live links; the IdP may reuse one, so several can match.
	ByExternalID
	// ByEmail matches the work email case-insensitively among live links; several can match.
	ByEmail
)

// String returns the SCIM attribute the index answers for, so errors and logs read naturally.
func (i Index) String() string {
	switch i {
	case ByUserName:
		return "userName"
	case ByExternalID:
		return "externalId"
	case ByEmail:
		return "email"
	}
	return "Index(" + strconv.Itoa(int(i)) + ")"
}

// Link is what the bridge remembers about one user besides what the vendor holds.
type Link struct {
	ID         string    // SCIM id = upstream id
	UserName   string    // kept exactly as sent; uniqueness compares Fold(UserName)
	ExternalID string    // "" when none
	Email      string    // work email, "" when none
	Extras     []byte    // JSON object (may be nil); opaque to the store
	Deleted    bool      // tombstone: upstream deactivated, 404 for the IdP, revived by a later POST
	Version    int64     // 1 on Create, +1 on every successful Update; set by the store
	Created    time.Time // set by the store on Create (UTC, millisecond precision)
	Modified   time.Time // set by the store on Create/Update (UTC, millisecond precision, strictly increasing)
}

// Store is safe for concurrent use.
type Store interface {
	// Create stores a new link with Version 1 and fresh timestamps. ErrConflict if the ID exists (live or
	// tombstone) or the UserName is taken by a live link.
	Create(ctx context.Context, l Link) (Link, error)
	// Get returns the link with the id, tombstones included; ErrNotFound if there is none.
	Get(ctx context.Context, id string) (Link, error)
	// Lookup returns the live links matching value on the index, ordered by ID; an empty slice when none,
	// never ErrNotFound. An empty value matches nothing.
	Lookup(ctx context.Context, by Index, value string) ([]Link, error)
	// Update runs fn on the current link inside one transaction and stores its result (ID may not change;
	// Version, Created, Modified are set by the store). An error from fn aborts and is returned unchanged.
	// ErrNotFound if missing; ErrConflict if the new UserName collides with another live link (a tombstone
	// being revived also must not collide). fn must not call the Store: it may hold the only write connection.
	Update(ctx context.Context, id string, fn func(Link) (Link, error)) (Link, error)
	// Delete removes the link for good (not a tombstone); ErrNotFound if there is none.
	Delete(ctx context.Context, id string) error
	// List returns up to limit links, tombstones included, with IDs greater than afterID in byte order,
	// ascending; pass the last ID of one page as afterID of the next.
	List(ctx context.Context, afterID string, limit int) ([]Link, error)
	// Ping reports whether the store can serve requests (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// Locker serialises work on one key (e.g. "user:"+Fold(userName) or "id:"+id) across goroutines (and, for a
// store shared by replicas, across processes).
type Locker interface {
	// Lock blocks until the key is free or ctx is done, in which case it returns ctx's error. The returned
	// unlock is safe to call more than once.
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Fold is the case folding the store applies to userName and email before comparing them, exported so that
// lock keys and caches agree with the store on which names are the same.
func Fold(s string) string { return strings.ToLower(s) }
