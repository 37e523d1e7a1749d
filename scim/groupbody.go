package scim

import (
	"encoding/json"
	"fmt"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// Group request bodies, read the way Okta's Group Push and Entra's group provisioning write them: members as
// objects ({"value": id, "display": ..., "type": "User"}) or plain id strings, PATCH operations with any case,
// members added and removed by list, by value filter, or all at once.

const (
	groupSchema   = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

func groupFail(base scimerrors.ScimError, format string, args ...any) error {
	e := base
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// parseGroupBody reads a POST or PUT body.
func parseGroupBody(body []byte) (provision.GroupInput, error) {
	m, err := bodyObject(body)
	if err != nil {
		return provision.GroupInput{}, err
	}
	var in provision.GroupInput
	for k, v := range m {
		switch strings.ToLower(k) {
		case "schemas", "id", "meta":
		case "displayname":
			s, ok := v.(string)
			if !ok {
				return in, groupFail(scimerrors.ScimErrorInvalidValue, "displayName must be a string.")
			}
			in.DisplayName = s
		case "externalid":
			s, ok := v.(string)
			if !ok && v != nil {
				return in, groupFail(scimerrors.ScimErrorInvalidValue, "externalId must be a string.")
			}
			in.ExternalID = s
		case "members":
			ids, displays, err := memberList(v)
			if err != nil {
				return in, err
			}
			in.Members, in.Displays = ids, displays
		default:
			return in, groupFail(scimerrors.ScimErrorInvalidValue, "%s is not an attribute of a Group.", k)
		}
	}
	if strings.TrimSpace(in.DisplayName) == "" {
		return in, groupFail(scimerrors.ScimErrorInvalidValue, "displayName is required.")
	}
	return in, nil
}

// memberList reads members given as a list (or a single one) of {"value": id} objects or id strings, and the display
// names the IdP gave (under "display", or "displayName" as Microsoft's test collection sends it), by id. Nested
// groups are not supported.
func memberList(v any) ([]string, map[string]string, error) {
	displays := map[string]string{}
	if v == nil {
		return []string{}, displays, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		switch t := e.(type) {
		case string:
			ids = append(ids, t)
		case map[string]any:
			var id, typ, display string
			for k, x := range t {
				switch strings.ToLower(k) {
				case "value":
					id, _ = x.(string)
				case "type":
					typ, _ = x.(string)
				case "display", "displayname":
					display, _ = x.(string)
				}
			}
			if typ != "" && !strings.EqualFold(typ, "User") {
				return nil, nil, groupFail(scimerrors.ScimErrorInvalidValue, "members: only users can be members (type %q is not supported).", typ)
			}
			if id == "" {
				return nil, nil, groupFail(scimerrors.ScimErrorInvalidValue, "members: every member needs a value (the user's id).")
			}
			ids = append(ids, id)
			if display != "" {
				displays[id] = display
			}
		default:
			return nil, nil, groupFail(scimerrors.ScimErrorInvalidValue, "members must be a list of {\"value\": \"<user id>\"}.")
		}
	}
	return ids, displays, nil
}

// parseGroupPatch reads a PatchOp body into group operations.
func parseGroupPatch(body []byte) ([]provision.GroupOp, error) {
	m, err := bodyObject(body)
	if err != nil {
		return nil, err
	}
	var raw []any
	for k, v := range m {
		if strings.EqualFold(k, "Operations") {
			raw, _ = v.([]any)
		}
	}
	if len(raw) == 0 {
		return nil, groupFail(scimerrors.ScimErrorInvalidValue, "Operations must be a non-empty list.")
	}
	var ops []provision.GroupOp
	for i, r := range raw {
		o, ok := r.(map[string]any)
		if !ok {
			return nil, groupFail(scimerrors.ScimErrorInvalidSyntax, "Operations[%d] is not an object.", i)
		}
		var op, path string
		var value any
		hasValue := false
		for k, v := range o {
			switch strings.ToLower(k) {
			case "op":
				op, _ = v.(string)
			case "path":
				path, _ = v.(string)
			case "value":
				value, hasValue = v, true
			}
		}
		got, err := groupOp(i, strings.ToLower(op), strings.TrimSpace(path), value, hasValue)
		if err != nil {
			return nil, err
		}
		ops = append(ops, got...)
	}
	return ops, nil
}

func groupOp(i int, op, path string, value any, hasValue bool) ([]provision.GroupOp, error) {
	if op != "add" && op != "remove" && op != "replace" {
		return nil, groupFail(scimerrors.ScimErrorInvalidSyntax, "Operations[%d]: op must be add, remove or replace.", i)
	}
	if path == "" {
		// Okta renames with a pathless replace of {"id":…, "displayName":…}; some clients add members the same way.
		obj, ok := value.(map[string]any)
		if !ok {
			if op == "remove" {
				return nil, groupFail(scimerrors.ScimErrorNoTarget, "Operations[%d]: remove needs a path.", i)
			}
			return nil, groupFail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: a pathless %s needs an object value.", i, op)
		}
		var out []provision.GroupOp
		for k, v := range obj {
			switch strings.ToLower(k) {
			case "id", "schemas", "meta":
			default:
				got, err := groupOp(i, op, k, v, true)
				if err != nil {
					return nil, err
				}
				out = append(out, got...)
			}
		}
		return out, nil
	}
	lower := strings.ToLower(path)
	switch {
	case lower == "displayname":
		s, ok := value.(string)
		if op == "remove" || !ok || strings.TrimSpace(s) == "" {
			return nil, groupFail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: displayName is required and must be a string.", i)
		}
		return []provision.GroupOp{{Kind: provision.SetDisplayName, Value: s}}, nil
	case lower == "externalid":
		if op == "remove" {
			return []provision.GroupOp{{Kind: provision.SetExternalID}}, nil
		}
		s, ok := value.(string)
		if !ok {
			return nil, groupFail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: externalId must be a string.", i)
		}
		return []provision.GroupOp{{Kind: provision.SetExternalID, Value: s}}, nil
	case lower == "members" || lower == "members.value":
		if op == "remove" && (!hasValue || value == nil) {
			return []provision.GroupOp{{Kind: provision.ClearMembers}}, nil
		}
		ids, displays, err := memberList(value)
		if err != nil {
			return nil, err
		}
		if len(displays) == 0 {
			displays = nil
		}
		switch op {
		case "add":
			return []provision.GroupOp{{Kind: provision.AddMembers, Members: ids, Displays: displays}}, nil
		case "remove":
			return []provision.GroupOp{{Kind: provision.RemoveMembers, Members: ids}}, nil
		}
		if len(ids) == 0 {
			return []provision.GroupOp{{Kind: provision.ClearMembers}}, nil
		}
		return []provision.GroupOp{{Kind: provision.ReplaceMembers, Members: ids, Displays: displays}}, nil
	case strings.HasPrefix(lower, "members["):
		id, ok := memberFilterValue(path)
		if !ok {
			return nil, groupFail(scimerrors.ScimErrorInvalidPath, `Operations[%d]: only members[value eq "<user id>"] is supported.`, i)
		}
		if op != "remove" {
			return nil, groupFail(scimerrors.ScimErrorInvalidPath, `Operations[%d]: %s on members[value eq …] is not supported; add members with path "members".`, i, op)
		}
		return []provision.GroupOp{{Kind: provision.RemoveMembers, Members: []string{id}}}, nil
	}
	return nil, groupFail(scimerrors.ScimErrorInvalidPath, "Operations[%d]: %s is not an attribute of a Group that can be changed.", i, path)
}

// memberFilterValue reads `members[value eq "id"]` (any case, optional spaces).
func memberFilterValue(path string) (string, bool) {
	open, close := strings.Index(path, "["), strings.LastIndex(path, "]")
	if open < 0 || close != len(path)-1 {
		return "", false
	}
	f := strings.Fields(path[open+1 : close])
	if len(f) != 3 || !strings.EqualFold(f[0], "value") || !strings.EqualFold(f[1], "eq") {
		return "", false
	}
	var id string
	if err := json.Unmarshal([]byte(f[2]), &id); err != nil || id == "" {
		return "", false
	}
	return id, true
}
