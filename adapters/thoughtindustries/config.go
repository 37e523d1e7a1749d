package thoughtindustries

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// Names of the settings this target reads.
const (
	EnvUpstreamURL     = "SCIM_BRIDGE_UPSTREAM_URL"
	EnvUpstreamToken   = "SCIM_BRIDGE_UPSTREAM_TOKEN"
	EnvUpstreamTimeout = "SCIM_BRIDGE_UPSTREAM_TIMEOUT"
	EnvSubdomain       = "SCIM_BRIDGE_TI_SUBDOMAIN"
	EnvSSOIDFrom       = "SCIM_BRIDGE_TI_SSOID_FROM"
	EnvRole            = "SCIM_BRIDGE_TI_ROLE"
	EnvCustomFields    = "SCIM_BRIDGE_TI_CUSTOM_FIELDS"
	EnvDeleteMode      = "SCIM_BRIDGE_DELETE_MODE"
)

// Settings lists the environment variables the thoughtindustries target reads.
var Settings = []adapters.Setting{
	{Env: EnvUpstreamURL, Usage: "Thought Industries API base URL, e.g. https://acme.thoughtindustries.com/incoming/api/v1 (or set " + EnvSubdomain + ")"},
	{Env: EnvSubdomain, Usage: "Thought Industries tenant subdomain, e.g. acme for acme.thoughtindustries.com (used when " + EnvUpstreamURL + " is unset)"},
	{Env: EnvUpstreamToken, Secret: true, Usage: "Thought Industries API key (Settings > Integrations > API); sent only as the X-API-Key header"},
	{Env: EnvUpstreamTimeout, Default: "15s", Usage: "timeout of one upstream attempt (Go duration)"},
	{Env: EnvSSOIDFrom, Default: string(ssoFromExternalID), Usage: "SCIM value stored in the user's ssoId: externalId, userName or none"},
	{Env: EnvRole, Default: string(roleNone), Usage: "none, or roles to map the primary SCIM role value to the user's role"},
	{Env: EnvCustomFields, Usage: "comma list of scimAttr=customFieldKey, e.g. department=dept,employeeNumber=employee_id; keys must exist in the TI admin portal"},
	{Env: EnvDeleteMode, Default: string(deleteDeactivate), Usage: "deactivate (keeps learning history) or delete (permanently deletes the account and its history)"},
}

type ssoFrom string

const (
	ssoFromExternalID ssoFrom = "externalId"
	ssoFromUserName   ssoFrom = "userName"
	ssoFromNone       ssoFrom = "none"
)

type roleMode string

const (
	roleNone  roleMode = "none"
	roleRoles roleMode = "roles"
)

type deleteMode string

const (
	deleteDeactivate deleteMode = "deactivate"
	deleteHard       deleteMode = "delete"
)

// customField routes one SCIM attribute (by path) to one Thought Industries custom-field key.
type customField struct {
	Attr string // SCIM path, the key in adapters.User.Attrs
	Key  string // customFields key configured in the TI admin portal
}

// config is the validated form of the settings.
type config struct {
	baseURL      string
	token        upstream.Secret
	timeout      time.Duration
	ssoFrom      ssoFrom
	role         roleMode
	customFields []customField
	deleteMode   deleteMode
}

// dnsLabel is one DNS label (RFC 1035 §2.3.1 as relaxed by RFC 1123): what a tenant subdomain can be.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// customKey is what the adapter accepts as a custom-field key: no spaces, separators or quoting surprises.
var customKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// attrName is one SCIM attribute name (RFC 7643 §2.1), optionally with one sub-attribute.
var attrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_$-]*(\.[A-Za-z][A-Za-z0-9_$-]*)?$`)

// enterpriseNames are the enterprise-extension attributes a short name may refer to (RFC 7643 §4.3), with the
// SCIM path each resolves to.
var enterpriseNames = map[string]string{
	"employeenumber": adapters.AttrEmployeeNumber,
	"costcenter":     adapters.AttrCostCenter,
	"organization":   adapters.AttrOrganization,
	"division":       adapters.AttrDivision,
	"department":     adapters.AttrDepartment,
	"manager":        adapters.EnterpriseURN + ":manager.value",
}

// coreNames are the single-valued core attributes (RFC 7643 §4.1) a custom field may hold. Attributes the adapter
// already maps to a vendor field (userName, name.givenName, name.familyName, active, preferredLanguage, locale,
// roles) are not offered, so one SCIM value never feeds two vendor fields.
var coreNames = map[string]string{
	"title":                adapters.AttrTitle,
	"nickname":             "nickName",
	"usertype":             "userType",
	"displayname":          "displayName",
	"profileurl":           "profileUrl",
	"timezone":             "timezone",
	"name.formatted":       "name.formatted",
	"name.middlename":      "name.middleName",
	"name.honorificprefix": "name.honorificPrefix",
	"name.honorificsuffix": "name.honorificSuffix",
	"externalid":           adapters.AttrExternalID, // only when ssoId is not fed from externalId
}

// parseConfig validates every setting and returns one error listing every problem, each naming its variable.
func parseConfig(get func(string) string) (config, error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	val := func(name string) string { return strings.TrimSpace(get(name)) }

	c := config{timeout: 15 * time.Second}

	rawURL, sub := val(EnvUpstreamURL), val(EnvSubdomain)
	if sub != "" {
		sub = strings.ToLower(sub)
		if !dnsLabel.MatchString(sub) {
			bad("%s must be the tenant's subdomain only (one DNS label of letters, digits and '-', e.g. acme for acme.thoughtindustries.com)", EnvSubdomain)
		}
	}
	switch {
	case rawURL != "":
		// An explicit URL wins (sandbox, proxies, a vanity domain); the subdomain is then unused.
		if err := checkBaseURL(rawURL); err != nil {
			bad("%s %w", EnvUpstreamURL, err)
		}
		c.baseURL = strings.TrimRight(rawURL, "/")
	case sub != "":
		c.baseURL = fmt.Sprintf(baseURLFormat, sub)
	default:
		bad("one of %s or %s is required", EnvUpstreamURL, EnvSubdomain)
	}

	if tok := get(EnvUpstreamToken); strings.TrimSpace(tok) == "" {
		bad("%s is required", EnvUpstreamToken)
	} else {
		c.token = upstream.Secret(strings.TrimSpace(tok))
	}

	if v := val(EnvUpstreamTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("%s must be a positive Go duration such as 15s", EnvUpstreamTimeout)
		} else {
			c.timeout = d
		}
	}

	c.ssoFrom = ssoFromExternalID
	if v := val(EnvSSOIDFrom); v != "" {
		switch {
		case strings.EqualFold(v, string(ssoFromExternalID)):
			c.ssoFrom = ssoFromExternalID
		case strings.EqualFold(v, string(ssoFromUserName)):
			c.ssoFrom = ssoFromUserName
		case strings.EqualFold(v, string(ssoFromNone)):
			c.ssoFrom = ssoFromNone
		default:
			bad("%s must be externalId, userName or none", EnvSSOIDFrom)
		}
	}

	c.role = roleNone
	if v := val(EnvRole); v != "" {
		switch {
		case strings.EqualFold(v, string(roleNone)):
		case strings.EqualFold(v, string(roleRoles)):
			c.role = roleRoles
		default:
			bad("%s must be none or roles", EnvRole)
		}
	}

	c.deleteMode = deleteDeactivate
	if v := val(EnvDeleteMode); v != "" {
		switch {
		case strings.EqualFold(v, string(deleteDeactivate)):
		case strings.EqualFold(v, string(deleteHard)):
			c.deleteMode = deleteHard
		default:
			bad("%s must be deactivate or delete", EnvDeleteMode)
		}
	}

	fields, errs := parseCustomFields(val(EnvCustomFields), c.ssoFrom)
	c.customFields = fields
	problems = append(problems, errs...)

	if len(problems) > 0 {
		return config{}, fmt.Errorf("thoughtindustries: invalid settings: %w", errors.Join(problems...))
	}
	return c, nil
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("must be an absolute http(s) URL such as https://acme.thoughtindustries.com/incoming/api/v1")
	case u.RawQuery != "" || u.User != nil || u.Fragment != "":
		// A query would be the place an apiKey hides; the key belongs in SCIM_BRIDGE_UPSTREAM_TOKEN.
		return errors.New("must not carry a query string, fragment or credentials (put the key in " + EnvUpstreamToken + ")")
	}
	return nil
}

// parseCustomFields reads "scimAttr=key,scimAttr=key". It reports each bad entry separately so one start-up
// attempt shows every mistake.
func parseCustomFields(v string, sso ssoFrom) ([]customField, []error) {
	if v == "" {
		return nil, nil
	}
	var (
		out      []customField
		problems []error
		attrs    = map[string]bool{}
		keys     = map[string]bool{}
	)
	for i, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue // tolerate "a=b," and "a=b,,c=d"
		}
		name, key, ok := strings.Cut(entry, "=")
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if !ok || name == "" || key == "" {
			problems = append(problems, fmt.Errorf("%s entry %d must look like scimAttr=customFieldKey", EnvCustomFields, i+1))
			continue
		}
		if !customKey.MatchString(key) {
			problems = append(problems, fmt.Errorf("%s entry %d: custom field key %q may hold only letters, digits, '_', '.' and '-'", EnvCustomFields, i+1, key))
			continue
		}
		path, err := resolveAttr(name, sso)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s entry %d: %w", EnvCustomFields, i+1, err))
			continue
		}
		if attrs[strings.ToLower(path)] {
			problems = append(problems, fmt.Errorf("%s maps SCIM attribute %s more than once", EnvCustomFields, path))
			continue
		}
		if keys[key] {
			problems = append(problems, fmt.Errorf("%s uses custom field key %q more than once", EnvCustomFields, key))
			continue
		}
		attrs[strings.ToLower(path)], keys[key] = true, true
		out = append(out, customField{Attr: path, Key: key})
	}
	return out, problems
}

// resolveAttr turns a short name (department, title) or a full URN path into the SCIM path used as Attrs key.
func resolveAttr(name string, sso ssoFrom) (string, error) {
	if strings.HasPrefix(strings.ToLower(name), "urn:") {
		i := strings.LastIndex(name, ":")
		if i <= len("urn:") || !attrName.MatchString(name[i+1:]) {
			return "", fmt.Errorf("%q is not a valid SCIM attribute path (urn:...:attribute)", name)
		}
		// The enterprise URN is canonicalised so "…:Department" and "…:department" are the same attribute.
		if strings.EqualFold(name[:i], adapters.EnterpriseURN) {
			if p, ok := enterpriseNames[strings.ToLower(name[i+1:])]; ok {
				return p, nil
			}
		}
		return name, nil
	}
	lower := strings.ToLower(name)
	if p, ok := enterpriseNames[lower]; ok {
		return p, nil
	}
	if p, ok := coreNames[lower]; ok {
		if p == adapters.AttrExternalID && sso == ssoFromExternalID {
			return "", fmt.Errorf("externalId already goes to ssoId (%s=externalId)", EnvSSOIDFrom)
		}
		return p, nil
	}
	return "", fmt.Errorf("unknown SCIM attribute %q (use an enterprise name such as department, a core name such as title, or a full urn: path)", name)
}
