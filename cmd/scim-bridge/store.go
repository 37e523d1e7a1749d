package main

import (
	"context"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

// linkStore is what serve needs of a store: the links, and the per-user locks that keep two requests about one
// person from interleaving.
type linkStore interface {
	store.Store
	store.Locker
}

// openStore opens the store SCIM_BRIDGE_DB names: a postgres:// URL selects Postgres, whose locks hold across
// replicas; anything else is a SQLite file for one instance.
func openStore(ctx context.Context, dsn, namespace string) (linkStore, error) {
	if pgstore.IsURL(dsn) {
		s, err := pgstore.Open(ctx, dsn, namespace)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlstore.Open(ctx, dsn, namespace)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// redactDB shows SCIM_BRIDGE_DB in the start-up log without a Postgres password.
func redactDB(env, v string) string {
	if env != "SCIM_BRIDGE_DB" {
		return v
	}
	return pgstore.Redacted(v)
}
