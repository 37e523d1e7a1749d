package trainualtest

import (
	"strconv"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

var _ upstreamtest.UI = (*Emulator)(nil)

// RemoveInUI implements upstreamtest.UI.
func (e *Emulator) RemoveInUI(id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[n]; !ok {
		return false
	}
	delete(e.users, n)
	return true
}

// SetInUI implements upstreamtest.UI.
func (e *Emulator) SetInUI(id, path, value string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.users[n]
	if !ok {
		return false
	}
	switch path {
	case "userName":
		rec.email = value
		e.indexEmail(rec)
	case "name.givenName":
		rec.firstName = value
	case "name.familyName":
		rec.lastName = value
	case "active":
		rec.status = statusActive
		if value == "false" {
			rec.status = statusDeactivated
		}
	case adapters.AttrTitle:
		rec.title = value
	case adapters.AttrDepartment:
		rec.department = value
	case adapters.AttrRole:
		rec.role = value
	default:
		return false
	}
	rec.updated = time.Now().UTC()
	return true
}
