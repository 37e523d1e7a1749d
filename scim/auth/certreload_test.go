package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a fresh self-signed pair for cn and stamps both files with mtime, so that change
// detection does not depend on the file system's timestamp resolution.
func writeSelfSigned(t *testing.T, certFile, keyFile, cn string, mtime time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), mtime)
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), mtime)
}

func writeFile(t *testing.T, name string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func servedCN(t *testing.T, c *CertReloader) string {
	t.Helper()
	cert, err := c.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeSelfSigned(t, certFile, keyFile, "one.test", base)

	var logs bytes.Buffer
	c, err := NewCertReloader(certFile, keyFile, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	c.now = clock.now
	c.lastCheck = clock.now()

	steps := []struct {
		name    string
		change  func()
		advance time.Duration
		want    string
	}{
		{name: "the initial certificate is served", want: "one.test"},
		{name: "a rewritten pair is not looked at before the check interval", change: func() {
			writeSelfSigned(t, certFile, keyFile, "two.test", base.Add(time.Minute))
		}, advance: time.Second, want: "one.test"},
		{name: "a rewritten pair is picked up once the interval has passed", advance: certCheckEvery, want: "two.test"},
		{name: "a broken certificate file keeps the last good certificate", change: func() {
			writeFile(t, certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"), base.Add(2*time.Minute))
		}, advance: certCheckEvery, want: "two.test"},
		{name: "a half-written pair (new cert, old key) keeps the last good certificate", change: func() {
			writeSelfSigned(t, certFile, filepath.Join(dir, "unused.key"), "three.test", base.Add(3*time.Minute))
		}, advance: certCheckEvery, want: "two.test"},
		{name: "the pair is picked up when the matching key lands", change: func() {
			data, err := os.ReadFile(filepath.Join(dir, "unused.key"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, keyFile, data, base.Add(4*time.Minute))
		}, advance: certCheckEvery, want: "three.test"},
		{name: "a deleted key file keeps the last good certificate", change: func() {
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
		}, advance: certCheckEvery, want: "three.test"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change()
			}
			clock.advance(st.advance)
			if got := servedCN(t, c); got != st.want {
				t.Errorf("served CN = %q, want %q", got, st.want)
			}
		})
	}
	if !strings.Contains(logs.String(), "reload failed") {
		t.Errorf("broken files were not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Errorf("logs contain key material: %s", logs.String())
	}
}

func TestCertReloaderForcedReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	mtime := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeSelfSigned(t, certFile, keyFile, "one.test", mtime)
	c, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Same mtime on purpose: Reload must not depend on change detection.
	writeSelfSigned(t, certFile, keyFile, "two.test", mtime)
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedCN(t, c); got != "two.test" {
		t.Errorf("served CN after Reload = %q, want two.test", got)
	}
}

func TestNewCertReloaderFailsOnBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := NewCertReloader(certFile, keyFile, nil); err == nil {
		t.Error("NewCertReloader with missing files succeeded")
	}
	writeFile(t, certFile, []byte("not pem"), time.Now())
	writeFile(t, keyFile, []byte("not pem"), time.Now())
	if _, err := NewCertReloader(certFile, keyFile, nil); err == nil {
		t.Error("NewCertReloader with broken files succeeded")
	}
}
