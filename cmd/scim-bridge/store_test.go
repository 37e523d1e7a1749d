package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store/pgstore"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

func TestSCIMBridgeDBSelectsTheStore(t *testing.T) {
	tests := []struct {
		name     string
		dsn      func(t *testing.T) string
		postgres bool
	}{
		{"a file path is SQLite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "links.db") }, false},
		{"a file: URI is SQLite", func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "links.db") }, false},
		{"a postgres:// URL is Postgres", func(t *testing.T) string { return pgtest.Schema(t) }, true},
		{"a postgresql:// URL is Postgres", func(t *testing.T) string {
			return "postgresql://" + strings.TrimPrefix(pgtest.Schema(t), "postgres://")
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := openStore(t.Context(), tc.dsn(t), "trainual")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			switch st.(type) {
			case *pgstore.Store:
				if !tc.postgres {
					t.Error("opened Postgres, want SQLite")
				}
			case *sqlstore.Store:
				if tc.postgres {
					t.Error("opened SQLite, want Postgres")
				}
			default:
				t.Errorf("opened %T", st)
			}
		})
	}
}

// The start-up log lists every setting; a Postgres password in SCIM_BRIDGE_DB must not be in it.
func TestStartUpLogHidesTheDatabasePassword(t *testing.T) {
	const secret = "hunter2-s3cret"
	for _, dsn := range []string{
		"postgres://bridge:" + secret + "@db.internal/links?sslmode=verify-full",
		"postgres://bridge@db.internal/links?password=" + secret,
	} {
		s, err := loadSettings("serve", nil, envOf(map[string]string{"SCIM_BRIDGE_DB": dsn}), io.Discard, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := s.logValue().String()
		if strings.Contains(got, secret) {
			t.Errorf("start-up log shows the password: %s", got)
		}
		if !strings.Contains(got, "db.internal/links") {
			t.Errorf("start-up log lost the database's address: %s", got)
		}
	}
}
