package titest

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

var _ upstreamtest.UI = (*Emulator)(nil)

// RemoveInUI implements upstreamtest.UI.
func (e *Emulator) RemoveInUI(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[id] == nil {
		return false
	}
	delete(e.users, id)
	e.order = slices.DeleteFunc(e.order, func(x string) bool { return x == id })
	return true
}

// SetInUI implements upstreamtest.UI, with the same attribute routing as Seed.
func (e *Emulator) SetInUI(id, path, value string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.users[id]
	if r == nil {
		return false
	}
	switch path {
	case "userName":
		r.email = value
		e.indexEmail(r)
	case "name.givenName":
		r.firstName = value
	case "name.familyName":
		r.lastName = value
	case "active":
		r.active = value != "false"
	case adapters.AttrExternalID:
		r.ssoID = value
	case adapters.AttrPreferredLanguage, adapters.AttrLocale:
		r.language = value
	case adapters.AttrRole:
		r.role = value
	default:
		key := ShortName(path)
		if !e.keepCustomKey(key) {
			return false
		}
		b, _ := json.Marshal(value)
		r.customFields[key] = b
	}
	r.updatedAt = time.Now().UTC()
	return true
}
