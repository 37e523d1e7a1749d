package thoughtindustries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// Update implements adapters.Adapter as a read-merge-write. The seed warns that PUT /users/{id} "may apply full
// object replacement semantics" and that callers "should retrieve the current user object before writing to avoid
// inadvertently nulling fields". So the adapter works on the whole object as raw JSON (fields it does not know,
// such as groups and avatarUrl, survive untouched), applies only the Change, and PUTs the whole object back. The
// object is the one ch.Base carries when the caller has just read the user (one GET per write instead of two),
// else read here. Two writes of one user must not interleave between that read and the PUT: the caller serialises
// them (scim/provision holds a per-user lock, across replicas with a shared store).
func (a *adapter) Update(ctx context.Context, id string, ch adapters.Change) (adapters.User, error) {
	const op = "update user"
	if id == "" {
		return adapters.User{}, adapters.Errorf(adapters.KindNotFound, name+": "+op, "empty user id")
	}
	var obj map[string]json.RawMessage
	var current tiUser
	if r, ok := baseRead(ch.Base, id); ok {
		obj, current = r.clone(), r.t
	} else {
		var err error
		if obj, current, err = a.getUser(ctx, "read user for update", id); err != nil {
			return adapters.User{}, err
		}
	}
	written, touched, err := a.apply(obj, ch)
	if err != nil {
		return adapters.User{}, adapters.Errorf(adapters.KindInternal, name+": "+op, "merge change: %w", err)
	}
	if !touched {
		// Nothing this configuration maps was asked for: no write, so nothing can be lost.
		return a.userOf(obj, current), nil
	}
	for _, f := range systemFields {
		delete(obj, f)
	}

	var answer map[string]json.RawMessage
	if err := a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodPut, Path: userPath(id), Body: obj}, &answer); err != nil {
		return adapters.User{}, err
	}
	got, t, err := decodeUser(op, answer)
	if err != nil || t.ID == "" || short(obj, got) {
		if got, t, err = a.getUser(ctx, "read back updated user", id); err != nil {
			return adapters.User{}, err
		}
	}
	a.checkCustomFields(ctx, id, written, t)
	return a.userOf(got, t), nil
}

// apply writes ch into obj, the user object as read. It returns the custom fields it wrote (nil value: cleared)
// and whether anything this configuration maps was set. A cleared field is sent as JSON null, which clears it
// whether the vendor replaces or merges.
func (a *adapter) apply(obj map[string]json.RawMessage, ch adapters.Change) (map[string]*string, bool, error) {
	touched := false
	set := func(field string, v *string) {
		obj[field] = jsonString(v)
		touched = true
	}
	if ch.Email != nil {
		set(fieldEmail, ch.Email)
		if a.cfg.ssoFrom == ssoFromUserName {
			set(fieldSSOID, ch.Email)
		}
	}
	if ch.GivenName != nil {
		set(fieldFirstName, ch.GivenName)
	}
	if ch.FamilyName != nil {
		set(fieldLastName, ch.FamilyName)
	}
	if ch.Active != nil {
		obj[fieldActive] = jsonBool(*ch.Active)
		touched = true
	}
	if v, ok := ch.Attrs[adapters.AttrExternalID]; ok && a.cfg.ssoFrom == ssoFromExternalID {
		set(fieldSSOID, v)
	}
	if v, ok := ch.Attrs[adapters.AttrPreferredLanguage]; ok {
		set(fieldLanguage, v)
	} else if v := ch.Attrs[adapters.AttrLocale]; v != nil {
		// locale stands in for preferredLanguage only when it brings a value: a cleared locale says nothing about
		// the language the user prefers.
		set(fieldLanguage, v)
	}
	if v, ok := ch.Attrs[adapters.AttrRole]; ok && a.cfg.role == roleRoles {
		set(fieldRole, v)
	}

	written := map[string]*string{}
	for _, cf := range a.cfg.customFields {
		if v, ok := ch.Attrs[cf.Attr]; ok {
			written[cf.Key] = v
		}
	}
	if len(written) > 0 {
		// Merged key by key: the keys this bridge does not map (set by admins or other integrations) are kept.
		fields := map[string]json.RawMessage{}
		if raw, ok := obj[fieldCustomFields]; ok && !isNull(raw) {
			if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
				return nil, false, fmt.Errorf("%s: %w", fieldCustomFields, errNoObject)
			}
		}
		for k, v := range written {
			fields[k] = jsonString(v)
		}
		b, err := json.Marshal(fields)
		if err != nil {
			return nil, false, fmt.Errorf("encode %s: %w", fieldCustomFields, err)
		}
		obj[fieldCustomFields] = b
		touched = true
	}
	return written, touched, nil
}

// errNoObject is returned when a field that must hold a JSON object holds something else.
var errNoObject = errors.New("not a JSON object")

func jsonString(v *string) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(*v) // a Go string always encodes
	return b
}

func jsonBool(v bool) json.RawMessage {
	if v {
		return json.RawMessage("true")
	}
	return json.RawMessage("false")
}

// read is a user object as read from the vendor, kept in adapters.User.Opaque for a following read-merge-write.
type read struct {
	obj map[string]json.RawMessage
	t   tiUser
}

func (r read) clone() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(r.obj))
	for k, v := range r.obj {
		out[k] = v
	}
	return out
}

// baseRead returns the object ch.Base carries for user id, when it carries a whole one.
func baseRead(base *adapters.User, id string) (read, bool) {
	if base == nil || base.ID != id {
		return read{}, false
	}
	r, ok := base.Opaque.(read)
	return r, ok && r.obj != nil
}

// userOf maps an object read from the vendor and keeps the object for a following write.
func (a *adapter) userOf(obj map[string]json.RawMessage, t tiUser) adapters.User {
	u := a.toUser(t)
	if obj != nil {
		u.Opaque = read{obj: obj, t: t}
	}
	return u
}
