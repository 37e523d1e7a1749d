// Package upstream is the one HTTP client every adapter uses to call its vendor: explicit timeouts, JSON in and
// out, capped error bodies, Retry-After parsing, and errors that never carry a secret or a query string.
package upstream
