package tenantdb

import (
	"fmt"
	"strings"
	"time"
)

// Defaults for Config; see its fields.
const (
	DefaultSchema    = "scim"
	DefaultTimeout   = 10 * time.Second
	DefaultBatchSize = 1000
	DefaultMaxConns  = 4
	// DefaultConnectTimeout bounds opening one connection (TCP, TLS and the
	// PostgreSQL startup) when the DSN sets no connect_timeout (or 0). pgxpool
	// finishes a connection attempt in the background after the caller's
	// context ends, so without a bound a server (or proxy) that accepts but
	// never answers holds pool slots forever and projection never resumes.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultPingTimeout bounds the liveness ping pgxpool sends before
	// reusing a connection that sat idle, when the DSN sets no
	// pool_ping_timeout (or 0). Without it a connection that stalled while idle
	// costs a whole call Timeout before the pool opens a new one.
	DefaultPingTimeout = 5 * time.Second
)

// maxIdentifierLen is PostgreSQL's identifier limit (NAMEDATALEN-1); longer
// names are silently truncated by the server, so they are refused instead.
const maxIdentifierLen = 63

// Config says which database and schema a Postgres client writes to.
type Config struct {
	// DSN is a libpq connection string or URL. It usually carries a password:
	// it is never logged nor put into errors by this package.
	DSN string
	// Schema holds the operator's tables; default "scim". Any name is safe:
	// it is always quoted as an identifier.
	Schema string
	// Timeout bounds every call; default 10 s. FullSync of a large tenant may
	// need more.
	Timeout time.Duration
	// BatchSize is the number of rows per statement and transaction for
	// ApplyUsers, ApplyGroups, DeleteUsers, DeleteGroups and (in member pairs)
	// SetMembers; default 1000.
	BatchSize int
	// MaxConns caps the connection pool; default 4, since one tenant
	// database is written by one reconciler at a time.
	MaxConns int32
	// TLS is how the server is verified; New refuses (ErrInsecure) a DSN to
	// a non-loopback host that does not verify it, unless TLS allows it.
	TLS TLS
}

// withDefaults fills empty fields and rejects a schema name PostgreSQL would
// mangle.
func (c Config) withDefaults() (Config, error) {
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if len(c.Schema) > maxIdentifierLen {
		return c, fmt.Errorf("%w: schema name is longer than %d bytes", ErrInvalid, maxIdentifierLen)
	}
	if strings.ContainsRune(c.Schema, 0) {
		return c, fmt.Errorf("%w: schema name contains a NUL byte", ErrInvalid)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c, nil
}
