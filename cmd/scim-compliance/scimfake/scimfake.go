package scimfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

const (
	// Prefix is where the endpoint lives, as in the bridge.
	Prefix = "/scim/v2"

	schemaUser  = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaList  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaError = "urn:ietf:params:scim:api:messages:2.0:Error"
)

var userNameEq = regexp.MustCompile(`^userName eq "([^"]*)"$`)

// Server is the fake endpoint; use New.
type Server struct {
	token string

	mu      sync.Mutex
	nextID  int
	users   []map[string]any
	queries []string
}

// New returns an empty endpoint that accepts "Bearer " + token.
func New(token string) *Server { return &Server{token: token} }

// RawQueries returns the raw query strings received so far, to check what went over the wire.
func (s *Server) RawQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// Users returns how many users are stored.
func (s *Server) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, r.URL.RawQuery)
	w.Header().Set("Content-Type", "application/scim+json")
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeError(w, http.StatusUnauthorized, "Authorization failure.")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, Prefix)
	switch {
	case path == "/Users" && r.Method == http.MethodGet:
		s.list(w, r)
	case path == "/Users" && r.Method == http.MethodPost:
		s.create(w, r)
	case strings.HasPrefix(path, "/Users/"):
		i := s.find(strings.TrimPrefix(path, "/Users/"))
		if i < 0 {
			writeError(w, http.StatusNotFound, "Resource not found.")
			return
		}
		s.one(w, r, i)
	default:
		writeError(w, http.StatusNotFound, "Specified endpoint does not exist.")
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	matched := s.users
	if f := q.Get("filter"); f != "" {
		m := userNameEq.FindStringSubmatch(f)
		if m == nil {
			writeError(w, http.StatusBadRequest, "Unsupported filter.")
			return
		}
		matched = nil
		for _, u := range s.users {
			if strings.EqualFold(u["userName"].(string), m[1]) {
				matched = append(matched, u)
			}
		}
	}
	page := matched
	if c, err := strconv.Atoi(q.Get("count")); err == nil && c >= 0 && c < len(page) {
		page = page[:c]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas": []string{schemaList}, "totalResults": len(matched), "startIndex": 1,
		"itemsPerPage": len(page), "Resources": append([]map[string]any{}, page...),
	})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var u map[string]any
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
		writeError(w, http.StatusBadRequest, "Body is not JSON.")
		return
	}
	name, _ := u["userName"].(string)
	if name == "" {
		writeError(w, http.StatusBadRequest, "userName is required.")
		return
	}
	for _, o := range s.users {
		if strings.EqualFold(o["userName"].(string), name) {
			writeError(w, http.StatusConflict, "userName is taken.")
			return
		}
	}
	s.nextID++
	u["id"] = fmt.Sprintf("u%d", s.nextID)
	u["schemas"] = []string{schemaUser}
	s.users = append(s.users, u)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) one(w http.ResponseWriter, r *http.Request, i int) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.users[i])
	case http.MethodPut:
		var u map[string]any
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			writeError(w, http.StatusBadRequest, "Body is not JSON.")
			return
		}
		u["id"], u["schemas"] = s.users[i]["id"], []string{schemaUser}
		s.users[i] = u
		writeJSON(w, http.StatusOK, u)
	case http.MethodPatch:
		var p struct {
			Operations []struct {
				Path  string `json:"path"`
				Value any    `json:"value"`
			} `json:"Operations"`
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			writeError(w, http.StatusBadRequest, "Body is not JSON.")
			return
		}
		for _, op := range p.Operations {
			if m, ok := op.Value.(map[string]any); ok && op.Path == "" {
				for k, v := range m {
					s.users[i][k] = v
				}
			} else if op.Path != "" {
				s.users[i][op.Path] = op.Value
			}
		}
		writeJSON(w, http.StatusOK, s.users[i])
	case http.MethodDelete:
		s.users = append(s.users[:i], s.users[i+1:]...)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

func (s *Server) find(id string) int {
	for i, u := range s.users {
		if u["id"] == id {
			return i
		}
	}
	return -1
}

func writeError(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"schemas": []string{schemaError}, "status": strconv.Itoa(status), "detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
