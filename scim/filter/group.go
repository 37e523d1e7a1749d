package filter

import (
	"strings"
	"time"

	parser "github.com/scim2/filter-parser/v2"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// GroupView is a group as a group filter sees it. Membership is asked, never listed, so that a filter such as
// Entra's `id eq "g" and members[value eq "u"]` costs one membership check, not a load of every member.
type GroupView struct {
	ID, DisplayName, ExternalID string
	Created, Modified           time.Time
	Version                     string
	IsMember                    func(userID string) bool
	HasMembers                  func() bool
}

// GroupFilter is a parsed filter over Group resources (RFC 7643 §4.2).
type GroupFilter struct {
	expr parser.Expression
	text string
}

// groupAttrs are the Group attributes a filter may name, with whether their strings compare exactly.
var groupAttrs = map[string]bool{"id": true, "externalid": true, "displayname": false,
	"meta.created": false, "meta.lastmodified": false, "meta.resourcetype": true, "meta.version": true}

// ParseGroup parses a filter over Groups. Attributes: id, externalId, displayName, meta.*, and members by value
// (members eq "u", members.value eq "u", members[value eq "u"], members pr). Anything else is invalidFilter.
func ParseGroup(raw string) (*GroupFilter, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, invalid("filter: the filter is empty")
	}
	if len(raw) > maxLen {
		return nil, invalid("filter: the filter is longer than 4096 bytes")
	}
	text := Rewrite(raw)
	expr, err := parser.ParseFilterNumber([]byte(text))
	if err != nil {
		return nil, invalid(`filter: syntax error; expected attribute, operator and value, e.g. displayName eq "Sales"`)
	}
	if err := userschema.DecodeStrings(expr); err != nil {
		return nil, invalid("filter: " + err.Error())
	}
	if err := checkGroupExpr(expr); err != nil {
		return nil, err
	}
	return &GroupFilter{expr: expr, text: text}, nil
}

func groupPath(p parser.AttributePath) string {
	name := strings.ToLower(p.AttributeName)
	if uri := strings.ToLower(p.URI()); uri != "" && uri != "urn:ietf:params:scim:schemas:core:2.0:group" {
		return "?" + uri
	}
	if s := p.SubAttributeName(); s != "" {
		return name + "." + strings.ToLower(s)
	}
	return name
}

func checkGroupExpr(expr parser.Expression) error {
	switch e := expr.(type) {
	case *parser.AttributeExpression:
		path := groupPath(e.AttributePath)
		switch path {
		case "members", "members.value":
			if e.Operator != parser.EQ && e.Operator != parser.PR {
				return invalid("filter: members can only be compared with eq or pr")
			}
			if _, ok := e.CompareValue.(string); !ok && e.Operator == parser.EQ {
				return invalid("filter: members eq needs a string (a user id)")
			}
			return nil
		}
		if _, ok := groupAttrs[path]; !ok {
			return invalid("filter: " + e.AttributePath.String() + " is not a Group attribute that can be filtered")
		}
	case *parser.ValuePath:
		if groupPath(e.AttributePath) != "members" {
			return invalid("filter: only members[...] may hold a value filter on Groups")
		}
		inner, ok := e.ValueFilter.(*parser.AttributeExpression)
		if !ok || strings.ToLower(inner.AttributePath.AttributeName) != "value" || inner.Operator != parser.EQ {
			return invalid(`filter: members[...] supports value eq "user id" only`)
		}
		if _, ok := inner.CompareValue.(string); !ok {
			return invalid(`filter: members[value eq ...] needs a string (a user id)`)
		}
	case *parser.LogicalExpression:
		if err := checkGroupExpr(e.Left); err != nil {
			return err
		}
		return checkGroupExpr(e.Right)
	case *parser.NotExpression:
		return checkGroupExpr(e.Expression)
	default:
		return invalid("filter: unsupported expression")
	}
	return nil
}

// String returns the filter as parsed.
func (f *GroupFilter) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Lookup returns an equality on id, displayName or externalId that every match must satisfy (the filter itself, or
// one side of a top-level "and"), so the caller can narrow the candidates through its index before Match.
func (f *GroupFilter) Lookup() (attr, value string, ok bool) {
	if f == nil {
		return "", "", false
	}
	return groupLookup(f.expr)
}

func groupLookup(expr parser.Expression) (string, string, bool) {
	switch e := expr.(type) {
	case *parser.AttributeExpression:
		v, isString := e.CompareValue.(string)
		if e.Operator != parser.EQ || !isString {
			return "", "", false
		}
		switch groupPath(e.AttributePath) {
		case "id":
			return "id", v, true
		case "displayname":
			return "displayName", v, true
		case "externalid":
			return "externalId", v, true
		}
	case *parser.LogicalExpression:
		if e.Operator == parser.AND {
			if a, v, ok := groupLookup(e.Left); ok {
				return a, v, true
			}
			return groupLookup(e.Right)
		}
	}
	return "", "", false
}

// Match reports whether the group matches the filter.
func (f *GroupFilter) Match(g GroupView) bool {
	if f == nil {
		return false
	}
	return matchGroup(f.expr, g)
}

func matchGroup(expr parser.Expression, g GroupView) bool {
	switch e := expr.(type) {
	case *parser.LogicalExpression:
		if e.Operator == parser.AND {
			return matchGroup(e.Left, g) && matchGroup(e.Right, g)
		}
		return matchGroup(e.Left, g) || matchGroup(e.Right, g)
	case *parser.NotExpression:
		return !matchGroup(e.Expression, g)
	case *parser.ValuePath:
		inner := e.ValueFilter.(*parser.AttributeExpression)
		v, _ := inner.CompareValue.(string)
		return g.IsMember != nil && g.IsMember(v)
	case *parser.AttributeExpression:
		path := groupPath(e.AttributePath)
		if path == "members" || path == "members.value" {
			if e.Operator == parser.PR {
				return g.HasMembers != nil && g.HasMembers()
			}
			v, _ := e.CompareValue.(string)
			return g.IsMember != nil && g.IsMember(v)
		}
		var have string
		var when time.Time
		switch path {
		case "id":
			have = g.ID
		case "externalid":
			have = g.ExternalID
		case "displayname":
			have = g.DisplayName
		case "meta.resourcetype":
			have = "Group"
		case "meta.version":
			have = g.Version
		case "meta.created":
			when = g.Created
		case "meta.lastmodified":
			when = g.Modified
		}
		if !when.IsZero() {
			return compareTime(e, when)
		}
		return compareString(e, have, groupAttrs[path])
	}
	return false
}

func compareString(e *parser.AttributeExpression, have string, exact bool) bool {
	if e.Operator == parser.PR {
		return have != ""
	}
	want, ok := e.CompareValue.(string)
	if !ok {
		return e.Operator == parser.EQ && e.CompareValue == nil && have == ""
	}
	if !exact {
		have, want = strings.ToLower(have), strings.ToLower(want)
	}
	switch e.Operator {
	case parser.EQ:
		return have == want
	case parser.NE:
		return have != want
	case parser.CO:
		return strings.Contains(have, want)
	case parser.SW:
		return strings.HasPrefix(have, want)
	case parser.EW:
		return strings.HasSuffix(have, want)
	case parser.GT:
		return have > want
	case parser.GE:
		return have >= want
	case parser.LT:
		return have < want
	case parser.LE:
		return have <= want
	}
	return false
}

func compareTime(e *parser.AttributeExpression, have time.Time) bool {
	if e.Operator == parser.PR {
		return true
	}
	s, ok := e.CompareValue.(string)
	if !ok {
		return false
	}
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return false
	}
	switch e.Operator {
	case parser.EQ:
		return have.Equal(want)
	case parser.NE:
		return !have.Equal(want)
	case parser.GT:
		return have.After(want)
	case parser.GE:
		return !have.Before(want)
	case parser.LT:
		return have.Before(want)
	case parser.LE:
		return !have.After(want)
	}
	return false
}
