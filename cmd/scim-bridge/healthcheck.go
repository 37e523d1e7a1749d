package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// healthcheck probes a running bridge's /healthz and exits 0 when it answers 200, 1 otherwise: the container
// image's HEALTHCHECK, since the distroless image has no shell, curl or wget.
//
//	scim-bridge healthcheck [--url URL] [--path /healthz] [--timeout 3s] [--insecure]
//
// Without --url it probes the address `serve` listens on, found as serve finds it: SCIM_BRIDGE_LISTEN, else the
// top-level listen of the SCIM_BRIDGE_CONFIG file, else :8080; a wildcard host (":8080", "0.0.0.0:8080",
// "[::]:8080") is probed on 127.0.0.1. It speaks HTTPS when SCIM_BRIDGE_TLS_CERT (or the file's tls_cert) is set,
// without verifying the certificate of a loopback address (it names the public host, not 127.0.0.1; nothing secret
// is sent). Exit status 0 and 1 only, as Docker expects of a health check: bad flags are a failed check too.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "URL to probe (default: /healthz on the address serve listens on, from SCIM_BRIDGE_LISTEN, SCIM_BRIDGE_CONFIG and SCIM_BRIDGE_TLS_CERT)")
	path := fs.String("path", "/healthz", "path probed when --url is not given: /healthz (the process answers) or /readyz (its store and vendors too)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	insecure := fs.Bool("insecure", false, "do not verify the server's TLS certificate (never verified on a loopback address)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitStatus(1) // the flag package has printed the problem
	}
	unhealthy := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "unhealthy: "+format+"\n", a...)
		return exitStatus(1)
	}
	if fs.NArg() > 0 {
		return unhealthy("unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return unhealthy("--timeout must be a positive duration such as 3s")
	}
	target := *rawURL
	if target == "" {
		var err error
		if target, err = healthcheckURL(getenv, *path); err != nil {
			return unhealthy("%v", err)
		}
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return unhealthy("--url must be an absolute http(s) URL such as http://127.0.0.1:8080/healthz, not %q", target)
	}

	tr := &http.Transport{
		Proxy:             nil, // a health check goes straight to the process, never through HTTP_PROXY
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: *insecure || isLoopback(u.Hostname())},
	}
	client := &http.Client{
		Transport: tr,
		Timeout:   *timeout,
		// A redirect is an answer, not health: /healthz never redirects.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return unhealthy("%v", err)
	}
	req.Header.Set("User-Agent", "scim-bridge-healthcheck")
	resp, err := client.Do(req)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // the *url.Error repeats the method and URL
		}
		return unhealthy("%s: %v", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	answer := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return unhealthy("%s answered %s: %s", u.Redacted(), resp.Status, answer)
	}
	fmt.Fprintf(stdout, "healthy: %s answered %s: %s\n", u.Redacted(), resp.Status, answer)
	return nil
}

// healthcheckURL is the URL of path on the address `serve` listens on, found from the same settings as serve.
func healthcheckURL(getenv func(string) string, path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("--path must start with /, not %q", path)
	}
	listen, cert := getenv("SCIM_BRIDGE_LISTEN"), getenv("SCIM_BRIDGE_TLS_CERT")
	if file := getenv("SCIM_BRIDGE_CONFIG"); file != "" && (listen == "" || cert == "") {
		// As in serve, a process setting in the environment wins over the file's top level.
		top, err := configTop(file, getenv)
		if err != nil {
			return "", err
		}
		if listen == "" {
			listen = top["listen"]
		}
		if cert == "" {
			cert = top["tls_cert"]
		}
	}
	if listen == "" {
		listen = defaultOf(coreSettings, "SCIM_BRIDGE_LISTEN")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("SCIM_BRIDGE_LISTEN %q is not host:port: %v", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		// serve listens on every address; a listener on [::] accepts IPv4 too, and 127.0.0.1 exists even where a
		// container has IPv6 turned off.
		host = "127.0.0.1"
	}
	scheme := "http"
	if cert != "" {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: path}).String(), nil
}

// configTop reads the process settings that a health check needs (listen, tls_cert) from the top level of a
// SCIM_BRIDGE_CONFIG file, each given plainly, as <key>_env or as <key>_file, as serve reads them. The rest of the
// file is serve's business: a health check must not fail over a connection's settings.
func configTop(path string, getenv func(string) string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("SCIM_BRIDGE_CONFIG: cannot read the file: %v", errors.Unwrap(err))
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("SCIM_BRIDGE_CONFIG: %s is not valid YAML: %v", path, err)
	}
	out := map[string]string{}
	for _, key := range []string{"listen", "tls_cert"} {
		if v, ok := scalar(doc[key]); ok && v != "" {
			out[key] = v
		}
		if name, ok := scalar(doc[key+"_env"]); ok && name != "" {
			out[key] = getenv(name)
		}
		if file, ok := scalar(doc[key+"_file"]); ok && file != "" {
			fb, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("SCIM_BRIDGE_CONFIG: %s_file: cannot read the file: %v", key, errors.Unwrap(err))
			}
			out[key] = strings.TrimRight(string(fb), "\r\n")
		}
	}
	return out, nil
}

// isLoopback reports whether host (a URL's host name, without brackets) is this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
