package sqlstore

import (
	"context"
	"fmt"
)

// Namespaces lists the namespaces that hold anything in the database (links, groups, an audit trail, even one
// whose events were all pruned, or a guard that holds), in byte order, whatever namespace s is bound to:
// migrate-store copies each of them.
func (s *Store) Namespaces(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT namespace FROM links UNION SELECT namespace FROM groups
		UNION SELECT namespace FROM audit_seq UNION SELECT namespace FROM guard WHERE held = 1 ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: namespaces: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ns string
		if err := rows.Scan(&ns); err != nil {
			return nil, fmt.Errorf("sqlstore: namespaces: %w", err)
		}
		out = append(out, ns)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: namespaces: %w", err)
	}
	return out, nil
}
