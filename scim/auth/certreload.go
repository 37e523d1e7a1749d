package auth

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckEvery bounds how often a handshake stats the two files.
const certCheckEvery = 2 * time.Second

// CertReloader serves a TLS certificate from a pair of PEM files and picks up new files (a cert-manager or ACME
// renewal) without a restart. Plug GetCertificate into tls.Config.
type CertReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	seen      [2]fileStamp // stamps of the files last tried, good or not
	lastCheck time.Time
}

// fileStamp identifies a version of a file cheaply. Renewals rewrite or replace the file, which changes the
// modification time even when the size stays the same.
type fileStamp struct {
	modTime time.Time
	size    int64
}

// NewCertReloader loads the pair once and fails if it cannot; later broken files are logged and the last good
// certificate is kept.
func NewCertReloader(certFile, keyFile string, logger *slog.Logger) (*CertReloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, logger: logger, now: time.Now}
	stamps, err := c.stat()
	if err != nil {
		return nil, fmt.Errorf("auth: cert reloader: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		// The tls errors describe PEM structure and never include key bytes.
		return nil, fmt.Errorf("auth: cert reloader: load key pair: %w", err)
	}
	c.cert, c.seen, c.lastCheck = &cert, stamps, c.now()
	return c, nil
}

// GetCertificate returns the current certificate, reloading it first when either file changed.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.lastCheck) >= certCheckEvery {
		c.lastCheck = now
		c.reloadLocked(false)
	}
	return c.cert, nil
}

// Reload loads the files now, regardless of the interval or of whether they changed (for a SIGHUP handler). On
// error the previous certificate stays in use.
func (c *CertReloader) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastCheck = c.now()
	return c.reloadLocked(true)
}

func (c *CertReloader) reloadLocked(force bool) error {
	stamps, err := c.stat()
	if err != nil {
		c.logger.Warn("auth: TLS certificate files unreadable; keeping the current certificate", "err", err)
		return fmt.Errorf("auth: reload certificate: %w", err)
	}
	if stamps == c.seen && !force {
		return nil
	}
	// Remember the stamps even if loading fails, so that a broken pair is retried (and logged) once per change
	// rather than on every check; a half-written pair becomes loadable when the second file lands.
	c.seen = stamps
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		c.logger.Warn("auth: TLS certificate reload failed; keeping the current certificate", "err", err)
		return fmt.Errorf("auth: reload certificate: %w", err)
	}
	c.cert = &cert
	attrs := []any{"cert_file", c.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	}
	c.logger.Info("auth: TLS certificate loaded", attrs...)
	return nil
}

func (c *CertReloader) stat() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return out, fmt.Errorf("stat: %w", err)
		}
		out[i] = fileStamp{modTime: fi.ModTime(), size: fi.Size()}
	}
	return out, nil
}
