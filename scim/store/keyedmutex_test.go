package store_test

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/storetest"
)

func TestKeyedMutex(t *testing.T) {
	storetest.RunLocker(t, func(*testing.T) store.Locker { return new(store.KeyedMutex) })
}
