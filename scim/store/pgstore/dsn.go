package pgstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IsURL reports whether dsn names a Postgres database (a postgres:// or postgresql:// URL) rather than a SQLite
// file.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// parseConfig parses the URL into pool settings. Errors never quote the URL: it may carry a password, in its
// user part or as a password parameter, and pgx's own message shows the latter.
func parseConfig(dsn string) (*pgxpool.Config, error) {
	if !IsURL(dsn) {
		return nil, errors.New("want a postgres:// URL")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			// The message is "cannot parse `<url>`: <reason>"; keep the reason only.
			msg := pe.Error()
			if i := strings.LastIndex(msg, "`: "); i >= 0 {
				msg = msg[i+3:]
			}
			return nil, fmt.Errorf("cannot parse the URL: %s", redact(msg, dsn))
		}
		return nil, errors.New(redact(err.Error(), dsn))
	}
	return cfg, nil
}

// redact hides the URL's password wherever msg quotes it, escaped or not.
func redact(msg, dsn string) string {
	var secrets []string
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
		if p := u.Query().Get("password"); p != "" {
			secrets = append(secrets, p, url.QueryEscape(p))
		}
	}
	secrets = append(secrets, dsn)
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// Redacted returns dsn with its password replaced, for logs; a string that is not a URL comes back unchanged.
func Redacted(dsn string) string {
	if !IsURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://[unparsable URL]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "redacted")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
