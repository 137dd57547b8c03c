package localpg

import (
	"fmt"
	"os"
	"path/filepath"
)

// tls reports whether the server is to serve TLS.
func (o Options) tls() bool { return len(o.TLSCertPEM) > 0 && len(o.TLSKeyPEM) > 0 }

// writeTLSFiles puts the certificate and key where ssl=on looks for them
// (server.crt and server.key in the data directory). PostgreSQL refuses a key
// that others can read, or that another user owns.
func writeTLSFiles(dir string, acct account, opts Options) error {
	if !opts.tls() {
		return nil
	}
	for name, data := range map[string][]byte{"server.crt": opts.TLSCertPEM, "server.key": opts.TLSKeyPEM} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if acct.switchUser {
			if err := os.Chown(path, int(acct.uid), int(acct.gid)); err != nil {
				return fmt.Errorf("handing %s to user %s: %w", name, acct.name, err)
			}
		}
	}
	return nil
}
