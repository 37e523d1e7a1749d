package provision

import (
	"fmt"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// GroupRule gives the members of a SCIM group attribute values in the vendor: "members of Trainual Admins get
// role=admin". The group "*" is everyone: a default that applies when no group rule does and the IdP sent no value.
type GroupRule struct {
	Group  string            // displayName, compared with store.Fold; "*" for everyone
	Values map[string]string // SCIM attribute path (one the adapter holds) -> value
	order  int
}

// GroupRules are in precedence order: for one attribute, the first rule whose group holds the person wins, then the
// IdP's own value, then a "*" rule.
type GroupRules []GroupRule

// ParseGroupRules reads SCIM_BRIDGE_GROUP_RULES: rules separated by ";", each "<group displayName>: <attr>=<value>,
// <attr>=<value>". An attribute is a path the adapter holds (paths) or its last name (department, title, roles,
// role). Example: "Trainual Admins: roles=admin; Ops: department=Ops; *: roles=member".
func ParseGroupRules(s string, paths []string) (GroupRules, error) {
	var rules GroupRules
	var problems []string
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		group, assigns, ok := strings.Cut(part, ":")
		group = strings.TrimSpace(group)
		if !ok || group == "" || strings.TrimSpace(assigns) == "" {
			problems = append(problems, fmt.Sprintf("rule %d must read \"<group>: <attribute>=<value>\"", i+1))
			continue
		}
		r := GroupRule{Group: group, Values: map[string]string{}, order: len(rules)}
		for _, a := range strings.Split(assigns, ",") {
			name, value, ok := strings.Cut(a, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || name == "" || value == "" {
				problems = append(problems, fmt.Sprintf("rule %d (%s): %q must read <attribute>=<value>", i+1, group, strings.TrimSpace(a)))
				continue
			}
			path, ok := resolveAttr(name, paths)
			if !ok {
				problems = append(problems, fmt.Sprintf("rule %d (%s): %s is not an attribute this target holds (%s)", i+1, group, name, strings.Join(paths, ", ")))
				continue
			}
			r.Values[path] = value
		}
		rules = append(rules, r)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("SCIM_BRIDGE_GROUP_RULES: %s", strings.Join(problems, "; "))
	}
	return rules, nil
}

func resolveAttr(name string, paths []string) (string, bool) {
	if strings.EqualFold(name, "role") {
		name = adapters.AttrRole
	}
	for _, p := range paths {
		if strings.EqualFold(p, name) {
			return p, true
		}
	}
	for _, p := range paths {
		short := p
		if i := strings.LastIndex(short, ":"); i >= 0 {
			short = short[i+1:]
		}
		if strings.EqualFold(short, name) || strings.EqualFold(strings.TrimSuffix(short, ".value"), name) {
			return p, true
		}
	}
	return "", false
}

// paths lists every attribute a rule sets.
func (rs GroupRules) paths() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		for p := range r.Values {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// GroupLink ties a SCIM group to a vendor group: adding a member adds them in the vendor.
type GroupLink struct {
	ExternalID  bool   // Match is the SCIM group's externalId (else its displayName)
	Match       string // displayName (compared with store.Fold) or externalId (exact)
	VendorGroup string
}

// ParseGroupLinks reads SCIM_BRIDGE_GROUP_LINKS: comma-separated "<displayName>=<vendor group id>" or
// "externalId:<externalId>=<vendor group id>". Example: "Sales=grp001, externalId:00g1a2b3=grp002".
func ParseGroupLinks(s string) ([]GroupLink, error) {
	var links []GroupLink
	var problems []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i <= 0 || i == len(part)-1 {
			problems = append(problems, fmt.Sprintf("link %q must read <group displayName>=<vendor group id>", part))
			continue
		}
		l := GroupLink{Match: strings.TrimSpace(part[:i]), VendorGroup: strings.TrimSpace(part[i+1:])}
		if rest, ok := strings.CutPrefix(l.Match, "externalId:"); ok {
			l.ExternalID, l.Match = true, strings.TrimSpace(rest)
		}
		links = append(links, l)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("SCIM_BRIDGE_GROUP_LINKS: %s", strings.Join(problems, "; "))
	}
	return links, nil
}
