package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const limitsToken = "limits-test-token-4e1f0a9b7c"

// startLimitsSandbox runs `scim-bridge sandbox` on 127.0.0.1 with a known token, as an operator would, and stops it
// when the test ends.
func startLimitsSandbox(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr upstreamtest.LogBuffer
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--target", "trainual", "--listen", "127.0.0.1:0", "--token", limitsToken,
			"--db", filepath.Join(t.TempDir(), "limits.db")}, envOf(nil), &stdout, &stderr, func(a string) { addrc <- a })
	}()
	select {
	case addr := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sandbox shutdown: %v", err)
			}
		})
		return addr
	case err := <-done:
		cancel()
		t.Fatalf("sandbox stopped: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("sandbox did not start")
	}
	return ""
}

// TestSlowlorisIsCutOffWhileOthersAreServed sends a request's headers one byte every 2 s: the server must close
// that connection once ReadHeaderTimeout (10 s) has passed, and keep answering other clients meanwhile.
func TestSlowlorisIsCutOffWhileOthersAreServed(t *testing.T) {
	addr := startLimitsSandbox(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// The reader learns when the server hangs up; the bound is the test's, well past the server's 10 s.
	type result struct {
		data []byte
		err  error
	}
	closed := make(chan result, 1)
	if err := conn.SetReadDeadline(time.Now().Add(14 * time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() {
		data, err := io.ReadAll(conn)
		closed <- result{data, err}
	}()

	// The writer trickles the headers until the server hangs up or the request would be complete.
	twoBytesIn := make(chan struct{})
	stopWriting := make(chan struct{})
	defer close(stopWriting)
	go func() {
		headers := "GET /scim/v2/Users HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + limitsToken + "\r\n"
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for i := range len(headers) {
			if _, err := conn.Write([]byte{headers[i]}); err != nil {
				return
			}
			if i == 1 {
				close(twoBytesIn)
			}
			select {
			case <-tick.C:
			case <-stopWriting:
				return
			}
		}
	}()

	// Once the slow client is two bytes in, a normal client on its own connection is served at once.
	select {
	case <-twoBytesIn:
	case r := <-closed:
		t.Fatalf("the connection was closed after one byte: %v", r.err)
	}
	req, err := http.NewRequest("GET", "http://"+addr+"/scim/v2/Users", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+limitsToken)
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a normal request while a slow client holds a connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a normal request while a slow client holds a connection: %d, want 200", resp.StatusCode)
	}
	select {
	case r := <-closed:
		t.Fatalf("the slow connection was closed before the normal request was answered (%v); the test proves nothing", r.err)
	default:
	}

	r := <-closed
	var ne net.Error
	if errors.As(r.err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the slow connection open for 14 s; ReadHeaderTimeout is 10 s")
	}
	if r.err != nil && !errors.Is(r.err, net.ErrClosed) && !strings.Contains(r.err.Error(), "reset") {
		t.Fatalf("reading the slow connection: %v", r.err)
	}
	// net/http may say goodbye with a 400 before closing; it must never serve the incomplete request.
	if len(r.data) != 0 && !bytes.HasPrefix(r.data, []byte("HTTP/1.1 4")) {
		t.Errorf("the server answered the incomplete request with %q", r.data)
	}
}

func TestOversizedHeadersGet431(t *testing.T) {
	addr := startLimitsSandbox(t)
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"a 60 KiB header is within the 64 KiB limit", 60 << 10, http.StatusOK},
		{"a 100 KiB header is refused with 431", 100 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "http://"+addr+"/scim/v2/Users", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+limitsToken)
			req.Header.Set("X-Padding", strings.Repeat("p", tc.size))
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// paddedUser is a valid create body padded with trailing whitespace to exactly n bytes.
func paddedUser(t *testing.T, userName string, n int) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Big", "familyName": "Body"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > n {
		t.Fatalf("body of %d bytes cannot be padded to %d", len(b), n)
	}
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

// onlyReader hides bytes.Reader's type so that the client cannot learn the length and sends the body chunked.
type onlyReader struct{ io.Reader }

func TestOversizedBodyGets413WithSCIMError(t *testing.T) {
	addr := startLimitsSandbox(t)
	const limit = 1 << 20
	for _, tc := range []struct {
		name    string
		body    []byte
		chunked bool
		want    int
	}{
		{"a body of exactly 1 MiB is accepted", paddedUser(t, "exact@example.com", limit), false, http.StatusCreated},
		{"a body one byte over 1 MiB with Content-Length is refused with 413", paddedUser(t, "over@example.com", limit+1), false, http.StatusRequestEntityTooLarge},
		{"a chunked body one byte over 1 MiB is refused with 413", paddedUser(t, "chunked@example.com", limit+1), true, http.StatusRequestEntityTooLarge},
		{"a 4 MiB body is refused with 413", paddedUser(t, "huge@example.com", 4*limit), false, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				body = onlyReader{body}
			}
			req, err := http.NewRequest("POST", "http://"+addr+"/scim/v2/Users", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+limitsToken)
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, raw)
			}
			if tc.want != http.StatusRequestEntityTooLarge {
				return
			}
			var e struct {
				Schemas []string `json:"schemas"`
				Status  string   `json:"status"`
				Detail  string   `json:"detail"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("413 body is not JSON: %q", raw)
			}
			if len(e.Schemas) != 1 || e.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || e.Status != "413" || !strings.Contains(e.Detail, "1 MiB") {
				t.Errorf("413 body %s, want the SCIM error schema, status 413 and the limit in the detail", raw)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
