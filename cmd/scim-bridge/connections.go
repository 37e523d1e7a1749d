package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/auth"
)

// A deployment serves one or more connections. A connection is one target (its vendor URL, key, mapping), the IdP
// credentials that may reach it, its base path, its rate limit and its own slice of the store. The environment
// variables describe one connection; SCIM_BRIDGE_CONFIG names a YAML file that describes several:
//
//	listen: ":8080"
//	db_env: SCIM_BRIDGE_DB          # a Postgres URL holds a password: reference it
//	defaults:                       # any connection setting, applied to every connection
//	  rate_limit: 50
//	connections:
//	  - name: trainual
//	    target: trainual
//	    base_path: /trainual/scim/v2
//	    token_file: /run/secrets/okta-trainual-token
//	    upstream_token_file: /run/secrets/trainual-api-key
//
// Keys are the settings' names without SCIM_BRIDGE_, in lower case. A secret is never written in the file: it is
// read from <key>_file (a file) or <key>_env (another environment variable).

// processSettings are the settings of the process, not of a connection: the file sets them at its top level.
var processSettings = map[string]bool{
	"SCIM_BRIDGE_LISTEN": true, "SCIM_BRIDGE_DB": true, "SCIM_BRIDGE_LOG_LEVEL": true,
	"SCIM_BRIDGE_TLS_CERT": true, "SCIM_BRIDGE_TLS_KEY": true,
}

// connection is one connection's settings, named.
type connection struct {
	name string
	s    *settings
	// fromFile says the settings came from SCIM_BRIDGE_CONFIG: problems then name the file's keys.
	fromFile bool
}

// connectionName is what a name may be: it appears in metrics, logs and store namespaces.
var connectionName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// fileKey is how the file names a setting: SCIM_BRIDGE_RATE_LIMIT -> rate_limit.
func fileKey(env string) string { return strings.ToLower(strings.TrimPrefix(env, "SCIM_BRIDGE_")) }

// inFileTerms rewrites a problem that names an environment variable into the file's key names.
func inFileTerms(problem string) string {
	return envName.ReplaceAllStringFunc(problem, func(env string) string {
		if strings.HasSuffix(env, "_FILE") {
			return fileKey(strings.TrimSuffix(env, "_FILE")) + "_file"
		}
		return fileKey(env)
	})
}

var envName = regexp.MustCompile(`SCIM_BRIDGE_[A-Z0-9_]+`)

// loadConfigFile reads the connections from a YAML file. Every problem in the file is reported at once, each
// naming the connection and the key.
func loadConfigFile(path string, getenv func(string) string) ([]connection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("SCIM_BRIDGE_CONFIG: cannot read the file: %v", errors.Unwrap(err))
	}
	var doc struct {
		Defaults    map[string]any   `yaml:"defaults"`
		Connections []map[string]any `yaml:"connections"`
		Top         map[string]any   `yaml:",inline"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("SCIM_BRIDGE_CONFIG: %s is not valid YAML: %v", path, err)
	}
	defs := allSettings()
	byKey := map[string]adapters.Setting{}
	for _, d := range defs {
		byKey[fileKey(d.Env)] = d
	}
	var problems []string
	// resolve turns one map of the file into setting values, by environment name.
	resolve := func(where string, m map[string]any, allowed func(env string) bool) map[string]string {
		out := map[string]string{}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			raw := m[k]
			base, via := k, ""
			for _, suffix := range []string{"_file", "_env"} {
				if b, ok := strings.CutSuffix(k, suffix); ok && byKey[b].Env != "" {
					base, via = b, suffix
				}
			}
			d, ok := byKey[base]
			if !ok || !allowed(d.Env) {
				problems = append(problems, fmt.Sprintf("%s: unknown key %q", where, k))
				continue
			}
			v, ok := scalar(raw)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s must be a single value", where, k))
				continue
			}
			if _, dup := out[d.Env]; dup {
				problems = append(problems, fmt.Sprintf("%s: %s is set twice (plain, _file or _env): use one", where, base))
				continue
			}
			switch via {
			case "":
				if d.Secret {
					problems = append(problems, fmt.Sprintf("%s: %s is a secret: give %s_file or %s_env, never the value in the file", where, base, base, base))
					continue
				}
				out[d.Env] = v
			case "_file":
				fb, err := os.ReadFile(v)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s: cannot read the file: %v", where, k, errors.Unwrap(err)))
					continue
				}
				out[d.Env] = strings.TrimRight(string(fb), "\r\n")
			case "_env":
				ev := getenv(v)
				if ev == "" {
					problems = append(problems, fmt.Sprintf("%s: %s: the environment variable %s is empty", where, k, v))
					continue
				}
				out[d.Env] = ev
			}
		}
		return out
	}
	top := resolve("SCIM_BRIDGE_CONFIG", doc.Top, func(env string) bool { return processSettings[env] })
	defaults := resolve("defaults", doc.Defaults, func(env string) bool { return !processSettings[env] })
	if len(doc.Connections) == 0 {
		problems = append(problems, "SCIM_BRIDGE_CONFIG: the file lists no connections")
	}
	names, paths := map[string]bool{}, map[string]string{}
	var out []connection
	for i, m := range doc.Connections {
		name, _ := scalar(m["name"])
		where := fmt.Sprintf("connections[%d]", i)
		if name != "" {
			where = fmt.Sprintf("connection %q", name)
		}
		delete(m, "name")
		switch {
		case !connectionName.MatchString(name):
			problems = append(problems, where+": name must be lower-case letters, digits and dashes, such as trainual-emea")
		case names[name]:
			problems = append(problems, where+": name is used by another connection")
		}
		names[name] = true
		vals := resolve(where, m, func(env string) bool { return !processSettings[env] && env != "SCIM_BRIDGE_CONFIG" })
		s := &settings{defs: defs, values: map[string]string{}}
		for _, d := range defs {
			v, ok := vals[d.Env]
			if !ok {
				v, ok = defaults[d.Env]
			}
			if !ok {
				v, ok = top[d.Env]
			}
			if !ok {
				v = d.Default
			}
			s.values[d.Env] = v
		}
		bp := s.get("SCIM_BRIDGE_BASE_PATH")
		if other, dup := paths[strings.TrimRight(bp, "/")]; dup && len(doc.Connections) > 1 {
			problems = append(problems, fmt.Sprintf("%s: base_path %s is also connection %q's", where, bp, other))
		}
		paths[strings.TrimRight(bp, "/")] = name
		out = append(out, connection{name: name, s: s, fromFile: true})
	}
	if len(problems) > 0 {
		return nil, errors.New("invalid configuration in " + path + ":\n  " + strings.Join(problems, "\n  "))
	}
	return out, nil
}

// scalar reads a YAML scalar as the string an environment variable would hold.
func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", true
	case string:
		return t, true
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(t), true
	case []any:
		// A list is accepted where the setting is a comma-separated list (tokens, CIDRs).
		parts := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := scalar(e)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

// sharedCredentials lists every credential two connections would both accept: one credential must never reach
// another connection's users, so such a configuration is refused rather than silently allowed.
func sharedCredentials(names []string, auths []auth.Config) []string {
	var problems []string
	seen := map[string]string{} // credential fingerprint -> connection
	claim := func(i int, kind, fingerprint string) {
		if other, ok := seen[kind+"\x00"+fingerprint]; ok && other != names[i] {
			problems = append(problems, fmt.Sprintf("connection %q: its %s is also connection %q's: a credential must open one connection only", names[i], kind, other))
			return
		}
		seen[kind+"\x00"+fingerprint] = names[i]
	}
	for i, a := range auths {
		for _, t := range a.Tokens {
			// Plain and sha256: forms of one token are the same credential.
			h := strings.TrimPrefix(strings.ToLower(t), "sha256:")
			if !strings.HasPrefix(strings.ToLower(t), "sha256:") {
				sum := sha256.Sum256([]byte(t))
				h = hex.EncodeToString(sum[:])
			}
			claim(i, "token", h)
		}
		if a.BasicUser != "" {
			claim(i, "basic_user and basic_password", a.BasicUser+"\x00"+a.BasicPassword)
		}
		if a.OAuthClientID != "" {
			claim(i, "oauth_client_id", a.OAuthClientID)
		}
		if a.JWKSURL != "" {
			claim(i, "jwks_url, jwt_issuer and jwt_audience", a.JWKSURL+"\x00"+a.JWTIssuer+"\x00"+a.JWTAudience)
		}
		if len(a.JWTSigningKey) > 0 {
			claim(i, "jwt_signing_key and jwt_audience", string(a.JWTSigningKey)+"\x00"+a.JWTAudience)
		}
	}
	return problems
}
