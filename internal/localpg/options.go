package localpg

import (
	"io"
	"time"
)

// Superuser is the role initdb creates; DSN connects as it. A fixed name keeps
// DSNs predictable for developers copying them into psql.
const Superuser = "scim"

// defaultDatabase is the maintenance database initdb always creates.
const defaultDatabase = "postgres"

// defaultStartTimeout bounds how long Start waits for the server to accept
// connections before giving up.
const defaultStartTimeout = 30 * time.Second

// Options configures Start. The zero value starts an ephemeral server on a free
// port whose data directory is removed by Stop.
type Options struct {
	// Dir is the data directory. A missing or empty directory is initialised
	// with initdb; an initialised one is reused, so local dev mode keeps its data
	// across restarts. Empty means a temporary directory that Stop removes.
	Dir string
	// Port is the loopback TCP port; 0 picks a free one.
	Port int
	// BinDir holds initdb and postgres. Empty means: $PG_BIN, then the newest
	// /usr/lib/postgresql/*/bin, then $PATH.
	BinDir string
	// Log receives the output of initdb and postgres; nil discards it. Startup
	// errors quote its last lines either way.
	Log io.Writer
	// Fsync keeps PostgreSQL's durability settings. Off (the default) is much
	// faster and fine for tests, where a crash may lose the data anyway.
	Fsync bool
	// Database is created after startup when it does not exist yet; empty means
	// "postgres", which always exists.
	Database string
	// StartTimeout bounds the wait for the server to accept connections; zero
	// means 30 seconds.
	StartTimeout time.Duration
	// TLSCertPEM and TLSKeyPEM, when both are set, turn TLS on (ssl=on): they
	// are written into the data directory as server.crt and server.key,
	// owned by the server's account, at every start. Tests of certificate
	// verification use them; DSN keeps sslmode=disable.
	TLSCertPEM, TLSKeyPEM []byte
}

// withDefaults returns a copy of o with every empty field that has a default
// filled in, except BinDir, which findBinDir resolves.
func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Database == "" {
		o.Database = defaultDatabase
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = defaultStartTimeout
	}
	return o
}
