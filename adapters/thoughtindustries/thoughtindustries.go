package thoughtindustries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

const name = "thoughtindustries"

// adapter is the Thought Industries adapter without hard delete (SCIM_BRIDGE_DELETE_MODE=deactivate).
type adapter struct {
	c   *upstream.Client
	cfg config
	log *slog.Logger
}

// deletingAdapter adds the permanent DELETE. It is a separate type so that, in deactivate mode, a type assertion
// to adapters.Deleter fails and no caller can delete learning history by accident.
type deletingAdapter struct {
	*adapter
}

// Interface guards.
var (
	_ adapters.Adapter = (*adapter)(nil)
	_ adapters.Adapter = (*deletingAdapter)(nil)
	_ adapters.Deleter = (*deletingAdapter)(nil)
)

// Open validates the settings read through get and builds the raw adapter (no retries, no network I/O). With
// SCIM_BRIDGE_DELETE_MODE=delete the result also implements adapters.Deleter.
func Open(get func(name string) string, deps adapters.Deps) (adapters.Adapter, error) {
	cfg, err := parseConfig(get)
	if err != nil {
		return nil, err
	}
	token := cfg.token
	c, err := upstream.New(upstream.Options{
		Name:    name,
		BaseURL: cfg.baseURL,
		// Header only: the seed's alternative, an apiKey query parameter, would land in every access log.
		Authorize: func(r *http.Request) { r.Header.Set(headerAPIKey, token.Reveal()) },
		Classify:  classify,
		Reason:    func(b []byte) string { return upstream.ReasonFromJSON(b, errorKeys...) },
		Timeout:   cfg.timeout,
		HTTP:      deps.HTTP,
		Pacer:     deps.Pacer,
	})
	if err != nil {
		return nil, fmt.Errorf("thoughtindustries: open: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &adapter{c: c, cfg: cfg, log: log}
	if cfg.deleteMode == deleteHard {
		return &deletingAdapter{adapter: a}, nil
	}
	return a, nil
}

// Get implements adapters.Adapter.
func (a *adapter) Get(ctx context.Context, id string) (adapters.User, error) {
	obj, t, err := a.getUser(ctx, "get user", id)
	if err != nil {
		return adapters.User{}, err
	}
	return a.userOf(obj, t), nil
}

// getUser reads one user both as the raw object (for read-merge-write) and as the mapped fields.
func (a *adapter) getUser(ctx context.Context, op, id string) (map[string]json.RawMessage, tiUser, error) {
	if id == "" {
		return nil, tiUser{}, adapters.Errorf(adapters.KindNotFound, name+": "+op, "empty user id")
	}
	var body map[string]json.RawMessage
	if err := a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodGet, Path: userPath(id)}, &body); err != nil {
		return nil, tiUser{}, err
	}
	return decodeUser(op, body)
}

// decodeUser takes {"user":{...}} or, tolerantly, a bare user object.
func decodeUser(op string, body map[string]json.RawMessage) (map[string]json.RawMessage, tiUser, error) {
	raw, ok := body[envelopeUser]
	if !ok {
		if _, bare := body[fieldID]; !bare {
			return nil, tiUser{}, adapters.Errorf(adapters.KindInternal, name+": "+op, "answer holds no %q object", envelopeUser)
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, tiUser{}, adapters.Errorf(adapters.KindInternal, name+": "+op, "re-encode answer: %w", err)
		}
		raw = b
	}
	var obj map[string]json.RawMessage
	var t tiUser
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, tiUser{}, adapters.Errorf(adapters.KindInternal, name+": "+op, "%q is not a JSON object", envelopeUser)
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, tiUser{}, adapters.Errorf(adapters.KindInternal, name+": "+op, "decode user: unexpected field type")
	}
	return obj, t, nil
}

// toUser maps the vendor's user to the bridge's, holding exactly the attributes this configuration maps.
func (a *adapter) toUser(t tiUser) adapters.User {
	u := adapters.User{
		ID:         string(t.ID),
		Email:      t.Email,
		GivenName:  deref(t.FirstName),
		FamilyName: deref(t.LastName),
		// The seed: active is "optional" on create and new users come back active, so a missing flag means active.
		Active:  t.Active == nil || *t.Active,
		Created: parseTime(t.CreatedAt),
		Updated: parseTime(t.UpdatedAt),
		Attrs:   map[string]string{adapters.AttrPreferredLanguage: deref(t.Language)},
	}
	if a.cfg.ssoFrom == ssoFromExternalID {
		u.Attrs[adapters.AttrExternalID] = deref(t.SSOID)
	}
	if a.cfg.role == roleRoles {
		u.Attrs[adapters.AttrRole] = deref(t.Role)
	}
	for _, cf := range a.cfg.customFields {
		u.Attrs[cf.Attr] = fieldString(t.CustomFields[cf.Key])
	}
	return u
}

// List implements adapters.Adapter.
func (a *adapter) List(ctx context.Context, p adapters.PageRequest) (adapters.Page, error) {
	size := p.Size
	if size <= 0 || size > maxPerPage {
		size = maxPerPage
	}
	number := max(p.Number, 1)
	q := url.Values{paramPage: {strconv.Itoa(number)}, paramPerPage: {strconv.Itoa(size)}}
	users, total, err := a.list(ctx, "list users", q)
	if err != nil {
		return adapters.Page{}, err
	}
	page := adapters.Page{Users: users, Total: -1}
	if total != nil {
		page.Total = *total
	}
	page.Last = len(users) < size || (page.Total >= 0 && (number-1)*size+len(users) >= page.Total)
	return page, nil
}

func (a *adapter) list(ctx context.Context, op string, q url.Values) ([]adapters.User, *int, error) {
	var env listEnvelope
	if err := a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodGet, Path: pathUsers, Query: q}, &env); err != nil {
		return nil, nil, err
	}
	users := make([]adapters.User, 0, len(env.Users))
	for _, raw := range env.Users {
		var t tiUser
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, nil, adapters.Errorf(adapters.KindInternal, name+": "+op, "decode %q: unexpected field type", envelopeUsers)
		}
		// No Opaque here: a listing is kept in memory as a whole, and writes start from a fresh read anyway.
		users = append(users, a.toUser(t))
	}
	return users, env.Total, nil
}

// FindByEmail implements adapters.Adapter. The seed's lookup is GET /users?email=; whether the vendor matches
// case-insensitively, or honours the parameter at all, is unconfirmed, so the adapter compares itself, retries
// with the lower-cased address, and walks the listing when the filter was evidently ignored.
func (a *adapter) FindByEmail(ctx context.Context, email string) (adapters.User, error) {
	const op = "find user by email"
	email = strings.TrimSpace(email)
	if email == "" {
		return adapters.User{}, adapters.Errorf(adapters.KindNotFound, name+": "+op, "empty email")
	}
	candidates := []string{email}
	if lower := strings.ToLower(email); lower != email {
		candidates = append(candidates, lower)
	}
	for _, c := range candidates {
		q := url.Values{paramEmail: {c}, paramPerPage: {strconv.Itoa(maxPerPage)}}
		users, _, err := a.list(ctx, op, q)
		if err != nil {
			return adapters.User{}, err
		}
		if u, ok := pick(users, email); ok {
			return u, nil
		}
		for _, u := range users {
			if !strings.EqualFold(u.Email, c) {
				return a.walkForEmail(ctx, op, email)
			}
		}
	}
	return adapters.User{}, adapters.Errorf(adapters.KindNotFound, name+": "+op, "no user with that email")
}

// walkForEmail reads every page: the fallback for a tenant whose API ignores the email parameter.
func (a *adapter) walkForEmail(ctx context.Context, op, email string) (adapters.User, error) {
	for u, err := range adapters.All(ctx, a) {
		if err != nil {
			return adapters.User{}, err
		}
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return adapters.User{}, adapters.Errorf(adapters.KindNotFound, name+": "+op, "no user with that email")
}

// pick returns the user whose email equals email, preferring an exact match over a case-insensitive one.
func pick(users []adapters.User, email string) (adapters.User, bool) {
	var found *adapters.User
	for i := range users {
		if users[i].Email == email {
			return users[i], true
		}
		if found == nil && strings.EqualFold(users[i].Email, email) {
			found = &users[i]
		}
	}
	if found == nil {
		return adapters.User{}, false
	}
	return *found, true
}

// Create implements adapters.Adapter.
func (a *adapter) Create(ctx context.Context, u adapters.User) (adapters.User, error) {
	const op = "create user"
	if strings.TrimSpace(u.Email) == "" {
		return adapters.User{}, adapters.Errorf(adapters.KindRejected, name+": "+op, "email is required")
	}
	body := map[string]any{fieldEmail: u.Email, fieldActive: u.Active}
	if u.GivenName != "" {
		body[fieldFirstName] = u.GivenName
	}
	if u.FamilyName != "" {
		body[fieldLastName] = u.FamilyName
	}
	switch a.cfg.ssoFrom {
	case ssoFromExternalID:
		if v := u.Attrs[adapters.AttrExternalID]; v != "" {
			body[fieldSSOID] = v
		}
	case ssoFromUserName:
		body[fieldSSOID] = u.Email
	}
	if v := u.Attrs[adapters.AttrPreferredLanguage]; v != "" {
		body[fieldLanguage] = v
	} else if v := u.Attrs[adapters.AttrLocale]; v != "" {
		body[fieldLanguage] = v
	}
	if v := u.Attrs[adapters.AttrRole]; a.cfg.role == roleRoles && v != "" {
		body[fieldRole] = v
	}
	written := map[string]*string{}
	custom := map[string]string{}
	for _, cf := range a.cfg.customFields {
		if v := u.Attrs[cf.Attr]; v != "" {
			custom[cf.Key] = v
			written[cf.Key] = &v
		}
	}
	if len(custom) > 0 {
		body[fieldCustomFields] = custom
	}

	var answer map[string]json.RawMessage
	if err := a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodPost, Path: pathUsers, Body: body}, &answer); err != nil {
		return adapters.User{}, err
	}
	obj, t, err := decodeUser(op, answer)
	if err != nil || t.ID == "" {
		// The account exists but the answer does not say which: find it rather than fail a create that landed.
		found, ferr := a.FindByEmail(ctx, u.Email)
		if e, ok := errors.AsType[*adapters.Error](ferr); ok && e.Kind != adapters.KindNotFound {
			// The create landed: a retry must look before it creates again.
			e.Ambiguous = true
			return adapters.User{}, e
		}
		if ferr != nil {
			return adapters.User{}, adapters.Errorf(adapters.KindInternal, name+": "+op, "answer holds no user id and the new user was not found")
		}
		return found, nil
	}
	if short(body, obj) {
		// The seed's own example answers a create with a subset of the fields sent.
		if obj, t, err = a.getUser(ctx, "read back created user", string(t.ID)); err != nil {
			return adapters.User{}, err
		}
	}
	a.checkCustomFields(ctx, string(t.ID), written, t)
	return a.userOf(obj, t), nil
}

// Delete implements adapters.Deleter: DELETE /users/{id} is permanent and removes the user's learning history.
func (d *deletingAdapter) Delete(ctx context.Context, id string) error {
	const op = "delete user"
	if id == "" {
		return adapters.Errorf(adapters.KindNotFound, name+": "+op, "empty user id")
	}
	return d.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodDelete, Path: userPath(id)}, nil)
}

// short reports whether an answer lacks a field that was sent with a value, so it must be read back to know what
// the vendor stored.
func short[V any](sent map[string]V, answer map[string]json.RawMessage) bool {
	for k, v := range sent {
		if isWriteOnly(k) || isNull(v) {
			continue
		}
		if _, ok := answer[k]; !ok {
			return true
		}
	}
	return false
}

func isWriteOnly(k string) bool {
	for _, w := range writeOnlyFields {
		if k == w {
			return true
		}
	}
	return false
}

func isNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case json.RawMessage:
		return string(x) == "null"
	}
	return false
}

// checkCustomFields warns about configured keys whose written value is not in the vendor's answer: the seed warns
// that keys not pre-configured in the admin portal "may be silently ignored". The value is never logged.
func (a *adapter) checkCustomFields(ctx context.Context, id string, written map[string]*string, t tiUser) {
	for _, cf := range a.cfg.customFields {
		want, ok := written[cf.Key]
		if !ok {
			continue
		}
		if fieldString(t.CustomFields[cf.Key]) == deref(want) {
			continue
		}
		a.log.LogAttrs(ctx, slog.LevelWarn,
			"thoughtindustries: custom field value did not stick; is the key configured in the admin portal?",
			slog.String("scim_attribute", cf.Attr), slog.String("custom_field_key", cf.Key), slog.String("user_id", id))
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Attributes implements adapters.Adapter: the language (preferredLanguage; the bridge feeds it from locale when
// the IdP sends only that), ssoId and role as configured, and every custom field's SCIM path.
func (a *adapter) Attributes() []string {
	out := []string{adapters.AttrPreferredLanguage}
	if a.cfg.ssoFrom == ssoFromExternalID {
		out = append(out, adapters.AttrExternalID)
	}
	if a.cfg.role == roleRoles {
		out = append(out, adapters.AttrRole)
	}
	for _, cf := range a.cfg.customFields {
		out = append(out, cf.Attr)
	}
	return out
}

// AddToGroup implements adapters.GroupAdder.
func (a *adapter) AddToGroup(ctx context.Context, groupID, userID string) error {
	const op = "add user to group"
	if groupID == "" || userID == "" {
		return adapters.Errorf(adapters.KindRejected, name+": "+op, "empty group or user id")
	}
	return a.c.Do(ctx, upstream.Request{Op: op, Method: http.MethodPost, Path: groupUsersPath(groupID),
		Body: map[string]string{fieldUserID: userID}}, nil)
}

var _ adapters.GroupAdder = (*adapter)(nil)
